// What the file systems tell inotify (kernel/event/inotify.hpp): the calls
// that change or open files report here, after they succeeded, and this
// layer finds the identities (st_dev, st_ino) of the file and its directory
// that watches are keyed by. Everything is a no-op while no watch exists;
// while one does, an event may cost a stat.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/event/inotify.hpp"

namespace lightvm::guest {

struct OpenFile;
struct Resolved;

// Event bits (<sys/inotify.h>).
namespace in_mask {
inline constexpr uint32_t kAccess = 0x1, kModify = 0x2, kAttrib = 0x4, kCloseWrite = 0x8, kCloseNoWrite = 0x10,
                          kOpen = 0x20, kMovedFrom = 0x40, kMovedTo = 0x80, kCreate = 0x100, kDelete = 0x200,
                          kDeleteSelf = 0x400, kMoveSelf = 0x800, kIsDir = 0x40000000;
}

// A name and what it named, looked up before a call that removes or moves
// it (afterwards the name is gone). obj is invalid when nobody watches.
struct NotifyName {
    FileId obj, dir;
    bool is_dir;
    uint64_t nlink;
    size_t len;
    char name[256];
};
void fsnotify_lookup(const Resolved& res, NotifyName& out);

void fsnotify_created(const Resolved& res, bool dir);  // IN_CREATE in the parent
void fsnotify_linked(const Resolved& from, const Resolved& to);  // link(): IN_ATTRIB, IN_CREATE
void fsnotify_attrib(const Resolved& res);                      // chmod, chown, utimes, xattrs
void fsnotify_modified(const Resolved& res);                    // truncate by path
void fsnotify_removed(const NotifyName& n);                     // unlink, rmdir
void fsnotify_moved(const NotifyName& from, const NotifyName& replaced, const Resolved& to);  // rename
// The same, for a call's result: events only when it succeeded.
inline long fsnotify_created_if(long r, const Resolved& res, bool dir) {
    if (r == 0)
        fsnotify_created(res, dir);
    return r;
}
inline long fsnotify_attrib_if(long r, const Resolved& res) {
    if (r == 0)
        fsnotify_attrib(res);
    return r;
}

// A descriptor: opened (created: O_CREAT made it), read, written, changed,
// and its last reference closed.
void fsnotify_opened(OpenFile* f, const Resolved& res, bool created);
void fsnotify_file(OpenFile* f, uint32_t mask);
void fsnotify_closed(OpenFile* f);
inline long fsnotify_file_if(long r, OpenFile* f, uint32_t mask) {
    if (r == 0)
        fsnotify_file(f, mask);
    return r;
}
// inotify_add_watch's path: its identity, and whether it is a directory.
long fsnotify_identify(uint64_t user_path, bool follow, FileId* out, bool* dir);

}  // namespace lightvm::guest
