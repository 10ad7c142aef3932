// Path resolution: cwd and dirfd handling, lexical normalisation, the
// mount table from the boot page, and the few special files the kernel
// provides itself. Host directories are named to the monitor as
// (share, path relative to the share root); the monitor re-checks that the
// result stays inside the share (openat2 RESOLVE_IN_ROOT).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/proc_files.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

enum class Special : uint8_t {
    None, DevNull, DevZero, DevFull, DevRandom, DevTty, Block, SelfExe,
    Fd,          // /dev/fd/N, /proc/self/fd/N, /dev/stdin|stdout|stderr: descriptor `fd`
    SynthDir,    // a kernel directory (fs/synthetic_dirs.hpp)
    ProcMounts,  // /proc/mounts, /proc/self/mounts: the mount table, for df and mount
    ProcMaps,    // /proc/self/maps: the address space's regions
    ProcText,    // /proc/cpuinfo, /proc/meminfo, ... (fs/proc_files.hpp): which one in Resolved::proc
    ProcPid,     // /proc/PID/stat, status, ... (fs/proc_pid.hpp): Resolved::pid and pid_file
};

struct Resolved {
    Special special;
    uint32_t block;             // Special::Block: device index
    ProcFile proc;              // Special::ProcText: which file
    uint32_t minor;             // Special::DevRandom: 8 random, 9 urandom
    long fd;                    // Special::Fd: the descriptor
    uint32_t pid;               // under /proc/PID (Fd, SelfExe, ProcMaps, ProcPid, SynthDir); 0: the caller
    PidFile pid_file;           // Special::ProcPid: which file
    ProcLink link;              // the last component was a /proc magic link (lstat, readlink)
    uint32_t link_pid;          // ... of this process
    bool rewritten;             // abs went through a /proc magic link: it is final (no physical tail)
    bool in_share;
    uint32_t share;
    bool in_tmpfs;              // a guest-memory file system (fs/tmpfs.hpp); rel is the path inside
    uint32_t tmpfs;
    bool read_only;
    bool trailing_slash;        // "dir/": must be a directory
    size_t abs_len;
    char abs[abi::kMaxPath];    // lexically normalised absolute guest path (mounts, specials, cache keys)
    const char* rel;            // path inside the share ("" = share root), into abs or relbuf
    size_t rel_len;
    // True when `.`/`..` after a component inside the share were kept for
    // the monitor to resolve physically (after symlinks, as Linux does):
    // then `abs` may not name the same file, so caches keyed by it are skipped.
    bool physical;
    char relbuf[abi::kMaxPath];
};

void vfs_init();
// Resolves a user path (already checked readable) relative to dirfd.
// Returns 0 or -errno (ENOENT when no mount covers the path).
long vfs_resolve(long dirfd, const char* path, size_t len, Resolved& out);
// Copies a NUL-terminated user path into buf[abi::kMaxPath]; -EFAULT or
// -ENAMETOOLONG (no NUL within PATH_MAX bytes).
long copy_user_path(uint64_t addr, char* buf, size_t* len);

const char* vfs_cwd();
// The last component of a user path is "." (1) or ".." (2), else 0.
int last_component_dots(const char* path, size_t len);
long vfs_set_cwd(const char* abs, size_t len);

}  // namespace lightvm::guest
