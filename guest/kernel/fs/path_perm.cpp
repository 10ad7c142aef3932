// Path-level permission checks over the lexical path (Resolved::abs). The
// directories checked are the path's prefixes as the guest names them, so
// two things differ from Linux: a relative path is checked from the root
// (Linux starts at the working directory), and the directories inside a
// symlink's target are not checked one by one (docs/compat.md).
#include "kernel/fs/path_perm.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/permission.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// The length of the parent directory's path in abs ("/" for "/x").
size_t parent_len(const Resolved& res) {
    size_t n = res.abs_len;
    while (n > 1 && res.abs[n - 1] == '/')
        --n;
    while (n > 0 && res.abs[n - 1] != '/')
        --n;
    return n > 1 ? n - 1 : 1;
}

// A directory on a share or a tmpfs (not one the kernel makes up).
bool checked_dir(const char* abs, size_t len) {
    Resolved* r = static_cast<Resolved*>(kmem_alloc(sizeof(Resolved)));
    if (!r)
        return true;
    bool checked = vfs_resolve(AT_FDCWD, abs, len, *r) == 0 && (r->in_share || r->in_tmpfs);
    kmem_free(r, sizeof(Resolved));
    return checked;
}

long may_dir(const char* abs, size_t len, int mask, Stat* st) {
    if (!checked_dir(abs, len))
        return 0;
    if (stat_unchecked(abs, len, st) < 0 || (st->mode & S_IFMT) != S_IFDIR)
        return 0;  // missing or not a directory: the call says so
    return perm_may(*st, mask);
}

}  // namespace

long perm_search(const Resolved& res) {
    if (!perm_restricted())
        return 0;
    const size_t end = parent_len(res);
    Stat st;
    if (long r = may_dir("/", 1, kMayExec, &st); r < 0)
        return r;
    for (size_t i = 2; i <= end; ++i)  // "/a", "/a/b", ... up to the parent
        if (i == end || res.abs[i] == '/')
            if (long r = may_dir(res.abs, i, kMayExec, &st); r < 0)
                return r;
    return 0;
}

long perm_create(const Resolved& res) {
    if (!perm_restricted())
        return 0;
    Stat st;
    if (stat_unchecked(res.abs, res.abs_len, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    return may_dir(res.abs, parent_len(res), kMayWrite | kMayExec, &st);
}

long perm_unlink(const Resolved& res) {
    if (!perm_restricted())
        return 0;
    Stat victim, dir;
    size_t n = parent_len(res);
    if (stat_unchecked(res.abs, res.abs_len, &victim, AT_SYMLINK_NOFOLLOW) < 0 || !checked_dir(res.abs, n) ||
        stat_unchecked(res.abs, n, &dir) < 0)
        return 0;
    return perm_remove(dir, victim);
}

long perm_rename(const Resolved& from, const Resolved& to) {
    if (!perm_restricted())
        return 0;
    Stat victim, target;
    if (stat_unchecked(from.abs, from.abs_len, &victim, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (long r = perm_unlink(from); r < 0)
        return r;
    bool replaces = stat_unchecked(to.abs, to.abs_len, &target, AT_SYMLINK_NOFOLLOW) == 0;
    if (long r = replaces ? perm_unlink(to) : perm_create(to); r < 0)
        return r;
    const size_t a = parent_len(from), b = parent_len(to);
    bool moved = a != b || memcmp(from.abs, to.abs, a) != 0;
    if (moved && (victim.mode & S_IFMT) == S_IFDIR)
        return perm_may(victim, kMayWrite);
    return 0;
}

long perm_link(const Resolved& from, const Resolved& to) {
    if (!perm_restricted())
        return 0;
    Stat st;
    if (stat_unchecked(from.abs, from.abs_len, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (!perm_owner(st) &&
        ((st.mode & S_IFMT) != S_IFREG || (st.mode & S_ISUID) || perm_may(st, kMayRead | kMayWrite) < 0))
        return -err::kPerm;
    return perm_create(to);
}

long perm_path(const Resolved& res, int mask) {
    if (!perm_restricted())
        return 0;
    Stat st;
    return stat_unchecked(res.abs, res.abs_len, &st) < 0 ? 0 : perm_may(st, mask);
}

}  // namespace lightvm::guest
