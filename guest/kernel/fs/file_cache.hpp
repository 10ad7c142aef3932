// Read-ahead and write-behind for files in host shares. Every request to the
// monitor is an exit (~25-35 us here), so small sequential reads (sha256sum
// reads 4 KiB at a time) are served from a 256 KiB window filled by one exit,
// and small sequential writes (stdio's 4 KiB blocks) are gathered and sent
// in one exit.
//
// Consistency, as a demanding user would expect inside one VM: pending
// writes are flushed before any other file-system request, stdin read,
// sleep or exit, so the host and every path lookup see them; any flush
// invalidates every read window (a global generation), so a read never
// returns data older than a write the guest made. Changes made on the host
// while the VM runs may go unseen for the life of one window, like NFS's
// close-to-open consistency. A deferred write error (ENOSPC) is reported by
// the next call on that file, or by fsync/close, as Linux does for
// buffered writes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/open_file.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

// Publishes the pending-write table in the boot page.
void cache_init();
// Reads/writes a HostFile at `off`; these decide between the cache and a direct request.
long cached_read(OpenFile* f, void* buf, size_t len, uint64_t off);
long cached_write(OpenFile* f, const void* buf, size_t len, uint64_t off, bool append, uint64_t* new_pos);

// Sends f's pending writes, if any; returns a deferred error once.
long cache_flush(OpenFile* f);
// Sends every file's pending writes (before anything the outside can observe).
void cache_flush_all();
// Moves pending writes into `out` as kFsWrite requests (at most max) for a
// batch; cache_batch_done() takes their results back.
uint32_t cache_take_pending(abi::HcFs* out, uint32_t max, int* owners);
void cache_batch_done(const abi::HcFs* reqs, const int* owners, uint32_t n);
bool cache_any_dirty();
// f is going away: flush and release its buffer.
long cache_release(OpenFile* f);
// Drop read windows (after writes that bypassed the cache).
void cache_invalidate_reads();

}  // namespace lightvm::guest
