// Block devices (--disk) as /dev/vdX: reads and writes go straight between
// the program's buffer and the host file, one exit per request.
#include "arch/x86_64/cpu.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kVirtioBlkMajor = 253;

// buf: guest-physical, contiguous (0 for a flush).
long block_io(uint32_t op, uint32_t device, uint64_t buf, uint64_t len, uint64_t offset) {
    volatile abi::HcBlock& hc = this_cpu().hc_block;
    hc.op = op;
    hc.device = device;
    hc.buf = buf;
    hc.len = len;
    hc.offset = offset;
    hc.result = 0;
    hypercall(abi::kHcBlock, &hc);
    return hc.result;
}

uint64_t capacity(const OpenFile* f) { return boot().devices[f->device].capacity; }

// A device does not grow: reads stop at the end (0 there), writes past it
// are short, and ENOSPC at the end itself.
long block_rw(OpenFile* f, uint32_t op, const void* buf, uint64_t len, int64_t at) {
    uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at);
    uint64_t cap = capacity(f);
    if (off >= cap)
        return op == abi::kBlockWrite && len ? -err::kNoSpc : 0;
    if (len > cap - off)
        len = cap - off;
    long n = for_each_phys(buf, len, [&](uint64_t gpa, uint64_t piece) {
        long r = block_io(op, f->device, gpa, piece, off);
        if (r > 0)
            off += static_cast<uint64_t>(r);
        return r;
    });
    if (n > 0 && at < 0)
        f->offset += static_cast<uint64_t>(n);
    return n;
}

long block_read(OpenFile* f, void* buf, size_t len, int64_t at) { return block_rw(f, abi::kBlockRead, buf, len, at); }

long block_write(OpenFile* f, const void* buf, size_t len, int64_t at) {
    if (boot().devices[f->device].flags & abi::kDevReadOnly)
        return -err::kRoFs;
    return block_rw(f, abi::kBlockWrite, buf, len, at);
}

long block_seek(OpenFile* f, int64_t offset, int whence) {
    auto cap = static_cast<int64_t>(capacity(f));
    if (whence == SEEK_DATA)  // a device is all data, no holes
        return offset < cap ? offset : -err::kNxio;
    if (whence == SEEK_HOLE)
        return offset < cap ? cap : -err::kNxio;
    return seek_within(f, offset, whence, cap);
}

long block_stat(OpenFile* f, Stat* out) {
    return synthetic_stat(out, ident::kDevDev, ident::kInoDevBlockBase + f->device, S_IFBLK | 0660,
                          (kVirtioBlkMajor << 8) | f->device);
}

long block_sync(OpenFile* f, bool) { return block_io(abi::kBlockFlush, f->device, 0, 0, 0); }

long block_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    uint64_t cap = capacity(f);
    switch (request) {
    case BLKGETSIZE64:
        return copy_to_user(arg, &cap, sizeof cap);
    case BLKGETSIZE: {
        uint64_t sectors = cap / 512;
        return copy_to_user(arg, &sectors, sizeof sectors);
    }
    case BLKSSZGET: {
        int32_t sector = 512;
        return copy_to_user(arg, &sector, sizeof sector);
    }
    default:
        return -err::kNotTy;
    }
}

}  // namespace

const FileOps kBlockFileOps = {
    .read = block_read,
    .write = block_write,
    .seek = block_seek,
    .stat = block_stat,
    .sync = block_sync,
    .ioctl = block_ioctl,
    .poll = nullptr,
    .wait_queue = nullptr,
    .release = nullptr,
    .tty = false,
    .seekable = true,
};

}  // namespace lightvm::guest
