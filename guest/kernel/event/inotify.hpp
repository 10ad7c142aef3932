// inotify (man 7 inotify): watches name files by identity (st_dev, st_ino),
// so hard links and any path to a file reach the same watch, as on Linux.
// The file systems report what the guest itself does to files through
// fs/fsnotify.hpp, which computes identities and calls inotify_notify;
// changes made on the host side of a share are not seen.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

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
// A new cookie for a rename's two events.
uint32_t inotify_cookie();

}  // namespace lightvm::guest
