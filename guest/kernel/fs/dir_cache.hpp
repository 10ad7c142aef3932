// Listings of share directories fetched ahead (kFsListTree): the first
// getdents of a share directory brings its whole listing and, within a
// budget that grows while the walk keeps using it, its subdirectories'.
// A walk (`find`, `du`, `ls -R`) then opens and reads those directories
// with no exit: open is answered from here (the host handle is opened only
// if the program needs one, host_files.cpp), getdents from a copy the open
// file keeps, stat and readlink from the attribute cache. Same lifetime as
// the attribute cache: any request that may change a share ends it, and a
// listing is trusted for kTrustNs (changes made on the host show after that).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;

// The complete listing of the directory at this absolute guest path
// (linux_dirent64 records, *bytes long), or nullptr.
const uint8_t* dir_cache_find(const char* abs_path, size_t len, uint32_t* bytes);

// One exit: lists the share directory f (open on the host, at its start)
// and what fits below it, or, when f lies below a walk that stopped
// early, that walk from f on; into the listing and attribute caches.
// False when f's own listing does not fit (the caller reads the host's).
bool dir_cache_fetch(OpenFile* f);

// Gives f (a share directory at its start) its own copy of the cached
// listing of f->path: its getdents are then answered from it. False when
// nothing is cached (or memory is short).
bool dir_listing_adopt(OpenFile* f);
// getdents64 from f's copy into the user's buffer: bytes, 0 at the end.
long dir_listing_read(OpenFile* f, uint64_t user_buf, uint64_t len);
void dir_listing_drop(OpenFile* f);

// Each listed name's attributes (and symlink target) under dir/NAME in the
// attribute cache: records and stats[cap] as kFsGetdentsPlus returns them,
// links as kFsOptLinks does (or nullptr).
struct Stat;
void dir_remember_names(const char* dir, size_t dir_len, const uint8_t* records, uint64_t n, const Stat* stats,
                        uint32_t cap, const uint8_t* links, uint64_t links_len);

// A share directory opened from the listing cache has no host handle
// until something needs one: this opens it (by its share-relative path).
// The handle, or -errno.
long share_dir_handle(OpenFile* f);

// unlink, rmdir, mkdir, symlink of abs_path: its attributes and its own
// and its parent directory's listings are stale.
void dir_cache_forget(const char* abs_path, size_t len);

}  // namespace lightvm::guest
