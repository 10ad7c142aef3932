// Identities for inotify: a path's file and its directory are found by
// lstat of the resolved absolute path and of its lexical parent. Event
// order follows Linux's fsnotify calls (fs/namei.c, include/linux/fsnotify.h).
#include "kernel/fs/fsnotify.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/resolved.hpp"
#include "kernel/fs/sys_fs_common.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using namespace fs_sys;

namespace {

using namespace in_mask;

PathArg g_path;  // the kernel stack is small; one event at a time

long lstat_abs(const char* path, size_t len, Stat* st) {
    if (len > abi::kMaxPath)
        return -err::kNameTooLong;
    memcpy(g_path.buf, path, len);
    g_path.buf[len] = 0;
    g_path.len = len;
    g_path.dirfd = AT_FDCWD;
    g_path.hops = 0;
    return stat_path(g_path, st, AT_SYMLINK_NOFOLLOW);
}

FileId id_of(const Stat& st) { return FileId{st.dev, st.ino}; }

// res's file (if it exists) and its directory and name.
void lookup(const Resolved& res, NotifyName& out) {
    out = NotifyName{};
    size_t n = res.abs_len;
    while (n > 1 && res.abs[n - 1] == '/')
        --n;
    size_t slash = n;
    while (slash > 0 && res.abs[slash - 1] != '/')
        --slash;
    out.len = n - slash < sizeof out.name ? n - slash : 0;
    memcpy(out.name, res.abs + slash, out.len);
    Stat st;
    if (lstat_abs(res.abs, n, &st) == 0) {
        out.obj = id_of(st);
        out.is_dir = (st.mode & S_IFMT) == S_IFDIR;
        out.nlink = st.nlink;
    }
    if (out.len && lstat_abs(res.abs, slash > 1 ? slash - 1 : 1, &st) == 0)
        out.dir = id_of(st);
}

uint32_t dir_bit(bool is_dir) { return is_dir ? kIsDir : 0; }

void notify_name(const NotifyName& n, uint32_t mask, uint32_t cookie = 0) {
    inotify_notify(FileId{}, n.dir, n.name, n.len, mask | dir_bit(n.is_dir), cookie);
}
void notify_self(const NotifyName& n, uint32_t mask) {
    inotify_notify(n.obj, FileId{}, nullptr, 0, mask | dir_bit(n.is_dir), 0);
}
// The usual event: to watches on the file and, with the name, on its directory.
void notify_both(const NotifyName& n, uint32_t mask) {
    inotify_notify(n.obj, n.dir, n.name, n.len, mask | dir_bit(n.is_dir), 0);
}

}  // namespace

void fsnotify_lookup(const Resolved& res, NotifyName& out) {
    out = NotifyName{};
    if (inotify_active())
        lookup(res, out);
}

void fsnotify_created(const Resolved& res, bool dir) {
    if (!inotify_active())
        return;
    NotifyName n;
    lookup(res, n);
    n.is_dir = dir;
    notify_name(n, kCreate);
}

void fsnotify_linked(const Resolved& from, const Resolved& to) {
    if (!inotify_active())
        return;
    NotifyName n;
    lookup(from, n);
    notify_self(n, kAttrib);  // its link count
    lookup(to, n);
    notify_name(n, kCreate);
}

void fsnotify_attrib(const Resolved& res) {
    if (!inotify_active())
        return;
    NotifyName n;
    lookup(res, n);
    notify_both(n, kAttrib);
}

void fsnotify_modified(const Resolved& res) {
    if (!inotify_active())
        return;
    NotifyName n;
    lookup(res, n);
    notify_both(n, kModify);
}

// vfs_unlink: IN_ATTRIB (the link count) for files; when the last link
// went, IN_DELETE_SELF and the end of the file's watches (IN_IGNORED);
// then IN_DELETE in the directory.
void fsnotify_removed(const NotifyName& n) {
    if (!n.obj.valid())
        return;
    bool last = n.is_dir || n.nlink <= 1;
    if (!n.is_dir)
        notify_self(n, kAttrib);
    if (last) {
        notify_self(n, kDeleteSelf);
        inotify_gone(n.obj);
    }
    notify_name(n, kDelete);
}

// fsnotify_move: IN_MOVED_FROM and IN_MOVED_TO with one cookie, the
// replaced file's link count, IN_MOVE_SELF on the file that moved.
void fsnotify_moved(const NotifyName& from, const NotifyName& replaced, const Resolved& to) {
    if (!from.obj.valid())
        return;
    NotifyName dest;
    lookup(to, dest);
    dest.is_dir = from.is_dir;
    uint32_t cookie = inotify_cookie();
    notify_name(from, kMovedFrom, cookie);
    notify_name(dest, kMovedTo, cookie);
    bool gone = replaced.obj.valid() && (replaced.obj.dev != from.obj.dev || replaced.obj.ino != from.obj.ino);
    if (gone && !replaced.is_dir)
        notify_self(replaced, kAttrib);
    notify_self(from, kMoveSelf);
    if (gone && (replaced.is_dir || replaced.nlink <= 1)) {
        notify_self(replaced, kDeleteSelf);
        inotify_gone(replaced.obj);
    }
}

void fsnotify_opened(OpenFile* f, const Resolved& res, bool created) {
    if (!inotify_active())
        return;
    NotifyName n;
    lookup(res, n);
    if (created)
        notify_name(n, kCreate);
    if (n.obj.valid())
        inotify_note_open(f, n.obj, n.dir, n.is_dir, n.name, n.len);
    notify_both(n, kOpen);
}

}  // namespace lightvm::guest
