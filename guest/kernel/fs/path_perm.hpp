// Permission checks that need paths (fs/permission.hpp has the rules):
// search permission on the directories a path walks through, and write
// permission on the directory a name is made in or removed from. Every
// function here returns 0 at once for a process that mode bits cannot
// refuse (perm_restricted() false: root), so root's calls cost nothing.
#pragma once

#include <stddef.h>

#include "kernel/fs/resolved.hpp"
#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

// stat (flags: 0 or AT_SYMLINK_NOFOLLOW) of an absolute guest path,
// without permission checks: the checks' own lookups (sys_fs.cpp).
long stat_unchecked(const char* abs, size_t len, Stat* out, uint32_t flags = 0);

// Search (x) permission on every directory above the last component of
// res.abs that lies in a share or a tmpfs (the kernel's own directories are
// searchable by everyone). 0, -EACCES, or 0 when a directory is missing
// (the call itself reports that).
long perm_search(const Resolved& res);
// Making res's name (create, mkdir, mknod, symlink, link's new name):
// write and search permission on its directory, unless the name exists
// (the call then says EEXIST, as Linux does before it checks).
long perm_create(const Resolved& res);
// Removing res's name (unlink, rmdir): the directory's permission and
// sticky bit against the file's owner. A missing name: 0.
long perm_unlink(const Resolved& res);
// rename(from, to) and link(from, to): perm_unlink/perm_create on both
// ends, a directory moved elsewhere needs write permission on itself
// (its ".."), and link follows Linux's protected_hardlinks: only the
// owner, or someone who may read and write the file, links it.
long perm_rename(const Resolved& from, const Resolved& to);
long perm_link(const Resolved& from, const Resolved& to);
// The mode bits of the file at res.abs (following links) against mask: chdir's search.
long perm_path(const Resolved& res, int mask);

}  // namespace lightvm::guest
