#include "kernel/fs_client.hpp"

#include "kernel/file_cache.hpp"
#include "kernel/kernel.hpp"

namespace lightvm::guest {

namespace {
// The argument block lives in kernel memory, below 4 GiB as hypercalls need.
volatile abi::HcFs g_req;
}  // namespace

abi::HcFs fs_request(uint32_t op) {
    abi::HcFs r{};
    r.op = op;
    r.handle = abi::kNoHandle;
    return r;
}

long fs_call(abi::HcFs& req) {
    cache_flush_all();
    return fs_call_raw(req);
}

long fs_call_raw(abi::HcFs& req) {
    memcpy(const_cast<abi::HcFs*>(&g_req), &req, sizeof req);
    hypercall(abi::kHcFs, &g_req);
    memcpy(&req, const_cast<abi::HcFs*>(&g_req), sizeof req);
    return req.result;
}

void fs_close(uint32_t handle) {
    abi::HcFs r = fs_request(abi::kFsClose);
    r.handle = handle;
    fs_call(r);
}

}  // namespace lightvm::guest
