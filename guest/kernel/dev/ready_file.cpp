// /sys/devices/virtual/lightvm/ready: a program marks the point where it is
// initialised ("snapshot me here") by writing to it. The write is one
// kHcReady exit; a monitor started with --save-at-ready saves the VM there,
// and every VM restored from that snapshot returns from this same write
// (docs/snapshot-format.md, "The ready mark"). Without --save-at-ready the
// mark costs the exit and nothing else.
#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/proc_files.hpp"
#include "kernel/fs/stat.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

long ready_read(OpenFile*, void*, size_t, int64_t) { return -err::kInval; }

long ready_write(OpenFile*, const void*, size_t len, int64_t) {
    volatile abi::HcReady hc{0};
    hypercall(abi::kHcReady, &hc);
    return static_cast<long>(len);
}

long ready_seek(OpenFile*, int64_t, int) { return 0; }

long ready_stat(OpenFile*, Stat* out) {
    return synthetic_stat(out, ident::kDevProc, ident::kInoProcTextBase + static_cast<uint64_t>(ProcFile::ReadyMark),
                          S_IFREG | 0200, 0);
}

}  // namespace

const FileOps kReadyMarkOps = {ready_read, ready_write, ready_seek, ready_stat, nullptr, nullptr, nullptr,
                               nullptr, nullptr, false, false};

}  // namespace lightvm::guest
