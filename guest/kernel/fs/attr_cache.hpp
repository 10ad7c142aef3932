// Attributes of names the guest just listed: getdents on a share also
// returns each entry's lstat (kFsGetdentsPlus), and the stat/lstat/access
// calls that `ls -l`, `du`, `find`, `rm` make next are answered here instead
// of one exit each. Any request that may change the file system clears the
// whole cache (fs_client.cpp), so the guest never sees its own changes
// late; changes made on the host meanwhile are seen once an entry is
// kTrustNs old, as with NFS attribute caching (actimeo).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

inline constexpr uint64_t kTrustNs = 2'000'000'000;  // how long a cached name is believed

// The caches' key: FNV-1a of an absolute guest path, never 0 (0 marks a free slot).
uint64_t name_hash(const char* abs_path, size_t len);
// The length of the parent's path ("/a/b" -> 2, "/a" -> 1).
size_t parent_len(const char* abs_path, size_t len);

void attr_put(const char* abs_path, size_t len, const Stat& st);
bool attr_get(const char* abs_path, size_t len, Stat* out);
void attr_invalidate();
// Bumped by attr_invalidate: listings cached under an older one are stale (dir_cache.hpp).
uint32_t attr_generation();
// Forget one path and its parent directory (whose size/mtime just changed).
void attr_forget(const char* abs_path, size_t len);

// The stat array the monitor fills for kFsGetdentsPlus (capacity entries), or nullptr.
Stat* attr_scratch(uint32_t* capacity);
// The buffer for its symlink targets (kFsOptLinks), or nullptr.
uint8_t* attr_link_scratch(uint32_t* capacity);

// Symlink targets listed with the attributes (kFsOptLinks): readlink of a
// name just listed costs no exit (`ls -l`). Same lifetime as the
// attributes; targets longer than kLinkMax are not kept.
inline constexpr size_t kLinkMax = 112;
void attr_put_link(const char* abs_path, size_t len, const char* target, size_t tlen);
// The target's length (copied to out, capacity cap), or -1 if not cached.
long attr_get_link(const char* abs_path, size_t len, char* out, size_t cap);

}  // namespace lightvm::guest
