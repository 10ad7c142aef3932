// Guest half of the host directory shares: one HcFs hypercall per call.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/stat.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

// A request with everything zeroed and no handle.
abi::HcFs fs_request(uint32_t op);
// Sends the request (one exit) after flushing pending write-behind data, so
// the monitor sees the guest's writes in order; returns result or -errno.
long fs_call(abi::HcFs& req);
// Without the flush (the write-behind cache itself).
long fs_call_raw(abi::HcFs& req);
void fs_close(uint32_t handle);  // queued; sent in batches
void fs_close_flush();
// Runs n requests in one exit; each gets its result. Returns the batch result.
long fs_send_batch(abi::HcFs* reqs, uint32_t n);

// Write-behind data that must reach the host before any other request, so
// the monitor sees the guest's writes in order. The cache (file_cache.cpp)
// sits above this transport and registers itself here.
struct PendingWrites {
    bool (*any)();
    uint32_t (*take)(abi::HcFs* out, uint32_t max, int* owners);
    void (*done)(const abi::HcFs* reqs, const int* owners, uint32_t n);
    void (*flush_all)();
};
void fs_set_pending_writes(const PendingWrites* pending);

// Told of every host handle opened on a file (with its stat, which every
// open carries back: kFsOptStat) and of every close: the page cache
// (page_cache.cpp) keys files by identity and stops caching while a
// handle may write.
struct HandleObserver {
    void (*opened)(uint32_t handle, const Stat& st, bool writable);
    void (*closed)(uint32_t handle);
};
void fs_set_handle_observer(const HandleObserver* observer);
// The stat `handle` was opened with, if it was the last read-only open and
// no request that may change a file has been sent since.
bool fs_fresh_stat(uint32_t handle, Stat* out);

}  // namespace lightvm::guest
