// What the path calls tell inotify (kernel/event/inotify.hpp): the calls
// that change or open files by name report here, after they succeeded, and
// this layer finds the identities (st_dev, st_ino) of the file and its
// directory that watches are keyed by. Everything is a no-op while no watch
// exists; while one does, an event may cost a stat. Events on descriptors
// (read, write, close, fchmod, ...) go through file_notify (fs/file_ops.hpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/event/inotify.hpp"

namespace lightvm::guest {

struct OpenFile;
struct Resolved;

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

// A descriptor was opened (created: O_CREAT made the file): IN_CREATE,
// IN_OPEN, and inotify notes its directory and name for later events.
void fsnotify_opened(OpenFile* f, const Resolved& res, bool created);

}  // namespace lightvm::guest
