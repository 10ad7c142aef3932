// Linux's file permission checks (man 7 path_resolution, man 7
// capabilities): the owner/group/other bits against the process's fsuid,
// fsgid and groups, overridden by CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
// CAP_FOWNER. A process with both DAC capabilities (root, the default) is
// never refused by mode bits, so perm_restricted() lets every caller skip
// the lookups: root pays nothing for these checks (docs/compat.md, "Users
// and permissions").
#pragma once

#include <stdint.h>

#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

inline constexpr int kMayExec = 1, kMayWrite = 2, kMayRead = 4;  // as R_OK/W_OK/X_OK

// Who a check is for: the file-system ids (every call but access), or the
// real ids (access/faccessat without AT_EACCESS).
struct Asker {
    uint32_t uid, gid;
    const uint32_t* groups;
    uint32_t ngroups;
    bool dac_override, dac_read_search;
};
Asker asker_fs();
Asker asker_real();

// True when mode bits can refuse the current process something.
bool perm_restricted();
// 0 or -EACCES: may `who` do `mask` (kMay*) to a file with these attributes?
long perm_may(const Asker& who, const Stat& st, int mask);
inline long perm_may(const Stat& st, int mask) { return perm_may(asker_fs(), st, mask); }
// The file's owner, or CAP_FOWNER (chmod, utimes with explicit times, ...).
bool perm_owner(const Stat& st);
// gid is the process's fsgid or one of its supplementary groups.
bool perm_in_group(uint32_t gid);
// chmod: 0 or -EPERM; *mode loses S_ISGID when the caller is not in the
// file's group and lacks CAP_FSETID (Linux's inode_init/notify_change rule).
long perm_chmod(const Stat& st, uint32_t* mode);
// chown: 0 or -EPERM (uid -1 / gid -1: unchanged).
long perm_chown(const Stat& st, int64_t uid, int64_t gid);
// utimensat: explicit times need the owner (or CAP_FOWNER); "now" also
// accepts write permission.
long perm_utimes(const Stat& st, bool explicit_times);
// Removing or renaming `victim` out of directory `dir`: write and search
// permission on dir, and under the sticky bit the owner of one of them.
long perm_remove(const Stat& dir, const Stat& victim);

}  // namespace lightvm::guest
