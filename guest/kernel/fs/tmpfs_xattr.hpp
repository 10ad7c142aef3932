// Extended attributes of tmpfs inodes (fs/tmpfs.cpp), kept in guest memory:
// the user.* namespace, on regular files and directories, as Linux's tmpfs
// since 6.6. Internal to the tmpfs; programs reach it through
// fs/sys_xattr.cpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

inline constexpr uint32_t kTmpfsMaxInodes = 2048;  // inodes of all instances together

// One getxattr/setxattr/listxattr/removexattr (op: abi::FsXattrOp) on inode
// `ino` of type `type` (S_IFMT bits). value: the value to set, or where a
// get or list answer goes (size bytes; 0: only the size is asked).
// Returns the bytes of a get or list answer, 0, or -errno.
long tmpfs_xattr_op(uint32_t ino, uint32_t type, uint32_t op, const char* name, size_t name_len, uint8_t* value,
                    uint64_t size, uint32_t flags);
// The inode is gone: its attributes go with it.
void tmpfs_xattr_drop(uint32_t ino);

}  // namespace lightvm::guest
