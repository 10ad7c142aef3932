// A page cache for files in host shares: the frames holding a file's pages
// are kept and shared by every mapping of the file, so the second exec of a
// program, or a library that the next process maps again, costs no exit and
// no copy (each exit costs ~25-35 us here, docs/platform.md). Private
// mappings see the frames read-only and copy on the first write (the cache
// holds a reference, so the frame counts as shared).
//
// Identity and consistency. Every open of a share file carries the host's
// stat back (kFsOptStat, no extra exit): a file is known by (st_dev,
// st_ino), and its pages are dropped when size, mtime or ctime differ from
// what they were cached under. So changes made on the host are seen at the
// next open, like NFS's close-to-open consistency. Writes from inside the
// VM go through a handle opened for writing: while any is open the file is
// not cached, and its pages are dropped when one is opened and closed.
//
// Memory. Cached frames count against --mem, as Linux's page cache does;
// when frames run out the allocator takes back cached pages no mapping uses
// (oldest files first) before it reports ENOMEM or OOM.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

// An end of file the host reported this recently stands: the read after a
// file's last byte (stdio's and Python's readall) needs no exit; later the
// host is asked again (the file may have grown: tail -f). Shared by the
// page cache and the read-ahead window (file_cache.cpp).
inline constexpr uint64_t kEofFreshNs = 2'000'000;

// Installs the reclaim hook in the frame allocator.
void page_cache_init();

// The host opened `handle` on a regular file with stat `st`.
void page_cache_opened(uint32_t handle, const Stat& st, bool writable);
// The guest closed `handle`.
void page_cache_closed(uint32_t handle);
// The guest path `handle` was opened by (after page_cache_opened): kept
// per file, up to kNameMax bytes, for /proc/PID/maps and /proc/PID/fd.
inline constexpr size_t kPageCacheNameMax = 255;
void page_cache_set_name(uint32_t handle, const char* path, size_t len);
// The name kept for the file open on `handle`, or nullptr.
const char* page_cache_name(uint32_t handle);

// The frame holding the page at `offset` (page-aligned) of the file open on
// `handle`, with one reference for the caller; pages missing are read from
// the host, up to `ahead` pages in one request. 0 with *err == 0: not
// cacheable now (write access, too big): use a private copy; 0 with *err ==
// kPageCachePastEnd: the offset is past the end of the cached version.
inline constexpr long kPageCachePastEnd = 1;
uint64_t page_cache_frame(uint32_t handle, uint64_t offset, uint64_t ahead, long* err);
// read() from the cache: bytes copied, or -1 when the file is not cacheable,
// the range starts at or past the cached version's end (the host knows if
// it grew), or a page is missing and `fill_missing` is false (or the fill
// failed): then the caller reads from the host.
long page_cache_read(uint32_t handle, void* buf, size_t len, uint64_t offset, bool fill_missing);

}  // namespace lightvm::guest
