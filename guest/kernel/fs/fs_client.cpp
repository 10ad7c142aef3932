#include "kernel/fs/fs_client.hpp"

#include "kernel/fs/attr_cache.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "arch/x86_64/cpu.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {
// Argument blocks are per CPU (cpu.hpp), in kernel memory below 4 GiB as
// hypercalls need.
volatile abi::HcFs& hc_req() { return this_cpu().hc_fs; }
volatile abi::HcFs* hc_batch() { return this_cpu().hc_fs_batch; }
}  // namespace

abi::HcFs fs_request(uint32_t op) {
    abi::HcFs r{};
    r.op = op;
    r.handle = abi::kNoHandle;
    return r;
}

namespace {

// Requests that change no file and no name.
bool pure_read(uint32_t op) {
    switch (op) {
    case abi::kFsRead:
    case abi::kFsStat:
    case abi::kFsFstat:
    case abi::kFsGetdents:
    case abi::kFsGetdentsPlus:
    case abi::kFsListTree:
    case abi::kFsReadlink:
    case abi::kFsAccess:
    case abi::kFsSeek:
    case abi::kFsStatfs:
    case abi::kFsClose:
    case abi::kFsCloseMany:
    case abi::kFsRealpath:
        return true;
    default:
        return false;  // open may create or truncate
    }
}

// Requests after which the attribute cache still holds: callers forget
// exactly the names unlink, mkdir and symlink change (dir_cache_forget).
bool read_only_op(uint32_t op) {
    return pure_read(op) || op == abi::kFsUnlink || op == abi::kFsMkdir || op == abi::kFsSymlink;
}

uint32_t g_close_queue[abi::kMaxCloseBatch];
uint32_t g_close_count;
const PendingWrites* g_pending;
const HandleObserver* g_observer;
Stat g_open_stat;  // the monitor writes an opened file's stat here (kernel lock held)
// The stat of the handle opened last, read-only, while nothing that could
// change a file has been sent since: exec's and ld.so's fstat right after
// their open cost no exit.
Stat g_fresh_stat;
uint32_t g_fresh_handle = abi::kNoHandle;

void forget_fresh_if_changing(const abi::HcFs& req) {
    // A batch's requests were looked at one by one (fs_send_batch); unlink
    // changes st_nlink, a write st_size.
    if (!pure_read(req.op) && req.op != abi::kFsBatch)
        g_fresh_handle = abi::kNoHandle;
}

bool opens_handle(const abi::HcFs& req) { return req.op == abi::kFsOpen || req.op == abi::kFsReopen; }

void ask_stat(abi::HcFs& req) {
    if (g_observer && opens_handle(req) && !req.buf) {
        req.options |= abi::kFsOptStat;
        g_open_stat = Stat{};  // mode 0 (nothing cached) unless the monitor writes it
        req.buf = kernel_to_gpa(&g_open_stat);
        req.len = sizeof g_open_stat;
    }
}

void tell_opened(const abi::HcFs& req) {
    if (!g_observer || !opens_handle(req) || req.result < 0 || !(req.options & abi::kFsOptStat))
        return;
    const bool writable = (req.flags & O_ACCMODE) != O_RDONLY || (req.flags & O_TRUNC);
    g_observer->opened(static_cast<uint32_t>(req.result), g_open_stat, writable);
    if (!writable) {
        g_fresh_stat = g_open_stat;
        g_fresh_handle = static_cast<uint32_t>(req.result);
    }
}

}  // namespace

long fs_send_batch(abi::HcFs* reqs, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
        forget_fresh_if_changing(reqs[i]);
    memcpy(const_cast<abi::HcFs*>(hc_batch()), reqs, sizeof(abi::HcFs) * n);
    abi::HcFs batch = fs_request(abi::kFsBatch);
    batch.buf = kernel_to_gpa(hc_batch());
    batch.len = n;
    long r = fs_call_raw(batch);
    memcpy(reqs, const_cast<abi::HcFs*>(hc_batch()), sizeof(abi::HcFs) * n);
    return r;
}

void fs_set_pending_writes(const PendingWrites* pending) { g_pending = pending; }
void fs_set_handle_observer(const HandleObserver* observer) { g_observer = observer; }

long fs_call(abi::HcFs& req) {
    if (!read_only_op(req.op) && !(req.op == abi::kFsOpen && (req.flags & (O_ACCMODE | O_CREAT | O_TRUNC)) == 0))
        attr_invalidate();  // anything but a plain read-only open may change what we cached
    ask_stat(req);
    if (!g_pending || !g_pending->any()) {
        long r = fs_call_raw(req);
        tell_opened(req);
        return r;
    }
    // Pending write-behind data goes out in the same exit, ahead of req.
    abi::HcFs reqs[abi::kMaxFsBatch];
    int owners[abi::kMaxFsBatch];
    uint32_t n = g_pending->take(reqs, abi::kMaxFsBatch - 1, owners);
    reqs[n] = req;
    long r = fs_send_batch(reqs, n + 1);
    g_pending->done(reqs, owners, n);
    if (r < 0)
        return r;
    req = reqs[n];
    tell_opened(req);
    return req.result;
}

bool fs_fresh_stat(uint32_t handle, Stat* out) {
    if (handle != g_fresh_handle || handle == abi::kNoHandle)
        return false;
    *out = g_fresh_stat;
    return true;
}

long fs_call_raw(abi::HcFs& req) {
    forget_fresh_if_changing(req);
    volatile abi::HcFs& block = hc_req();
    memcpy(const_cast<abi::HcFs*>(&block), &req, sizeof req);
    hypercall(abi::kHcFs, &block);
    memcpy(&req, const_cast<abi::HcFs*>(&block), sizeof req);
    return req.result;
}

// Closing has no effect the guest can observe (data was flushed before),
// so handles are closed in batches: one exit per kMaxCloseBatch closes.
void fs_close(uint32_t handle) {
    if (handle == g_fresh_handle)
        g_fresh_handle = abi::kNoHandle;
    if (g_observer)
        g_observer->closed(handle);
    g_close_queue[g_close_count++] = handle;
    if (g_close_count == abi::kMaxCloseBatch)
        fs_close_flush();
}

void fs_close_flush() {
    if (!g_close_count)
        return;
    if (g_pending)
        g_pending->flush_all();  // queued handles may still have write-behind data
    abi::HcFs r = fs_request(abi::kFsCloseMany);
    r.buf = kernel_to_gpa(g_close_queue);
    r.len = g_close_count;
    fs_call_raw(r);
    g_close_count = 0;
}

}  // namespace lightvm::guest
