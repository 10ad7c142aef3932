// inotify (man 7 inotify): watches name files by identity (st_dev, st_ino),
// so hard links and any path to a file reach the same watch, as on Linux.
// The file systems report what the guest itself does to files: path calls
// through fs/fsnotify.hpp, which computes identities and calls
// inotify_notify, descriptors through file_notify (fs/file_ops.hpp), whose
// hook is here. Changes made on the host side of a share are not seen.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;

// Event bits (<sys/inotify.h>).
namespace in_mask {
inline constexpr uint32_t kAccess = 0x1, kModify = 0x2, kAttrib = 0x4, kCloseWrite = 0x8, kCloseNoWrite = 0x10,
                          kOpen = 0x20, kMovedFrom = 0x40, kMovedTo = 0x80, kCreate = 0x100, kDelete = 0x200,
                          kDeleteSelf = 0x400, kMoveSelf = 0x800, kIsDir = 0x40000000;
}

struct FileId {
    uint64_t dev, ino;
    bool valid() const { return dev != 0 || ino != 0; }
};

// True while any inotify watch exists: the file systems skip all work
// (identities cost a stat) otherwise.
bool inotify_active();
// `mask` (IN_* bits, IN_ISDIR included when obj is a directory) happened
// to obj; when dir is valid, obj is its entry `name` (watches on dir get
// the event with the name). cookie ties IN_MOVED_FROM to IN_MOVED_TO.
void inotify_notify(FileId obj, FileId dir, const char* name, size_t len, uint32_t mask, uint32_t cookie);
// The inode is gone (its last link removed): its watches end (IN_IGNORED).
void inotify_gone(FileId obj);
// A descriptor opened while a watch existed: its identity, directory and
// name, so a watch on the directory sees its reads, writes and close with
// the name (fs/fsnotify.cpp's open hook).
void inotify_note_open(OpenFile* f, FileId obj, FileId dir, bool is_dir, const char* name, size_t len);
// A new cookie for a rename's two events.
uint32_t inotify_cookie();

}  // namespace lightvm::guest
