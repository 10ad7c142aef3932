// Files the kernel makes up itself: the synthetic directories on the way
// to mount points ("/" without --rootfs) and read-only text files such as
// /proc/mounts.
#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/synthetic_dirs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {



// The offset is an index into the listing (getdents).
long root_seek(OpenFile* f, int64_t offset, int whence) {
    if (whence != SEEK_SET || offset < 0)
        return -err::kInval;
    f->offset = static_cast<uint64_t>(offset);
    return offset;
}

long dir_stat(OpenFile* f, Stat* out) { return synthetic_dir_stat(f->path ? f->path : "/", out); }

long text_read(OpenFile* f, void* buf, size_t len, int64_t at) {
    uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at);
    if (off >= f->text_len)
        return 0;
    size_t n = f->text_len - off < len ? f->text_len - off : len;
    memcpy(buf, f->text + off, n);
    if (at < 0)
        f->offset += n;
    return static_cast<long>(n);
}

long text_write(OpenFile*, const void*, size_t, int64_t) { return -err::kBadF; }

long text_release(OpenFile* f) {
    if (f->text_cap)
        kmem_free(const_cast<char*>(f->text), f->text_cap);
    f->text = nullptr;
    f->text_cap = 0;
    return 0;
}

long text_seek(OpenFile* f, int64_t offset, int whence) { return seek_within(f, offset, whence, f->text_len); }

long text_stat(OpenFile* f, Stat* out) {
    long r = synthetic_stat(out, ident::kDevProc, f->device, S_IFREG | 0444, 0);
    out->size = 0;  // like procfs: the size is learnt by reading
    return r;
}

}  // namespace

const FileOps kSynthDirOps = {
    .read = dir_read,
    .write = dir_write,
    .seek = root_seek,
    .stat = dir_stat,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = nullptr,
    .wait_queue = nullptr,
    .release = nullptr,
    .tty = false,
    .seekable = true,
};

const FileOps kSyntheticFileOps = {
    .read = text_read,
    .write = text_write,
    .seek = text_seek,
    .stat = text_stat,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = nullptr,
    .wait_queue = nullptr,
    .release = text_release,
    .tty = false,
    .seekable = true,
};

}  // namespace lightvm::guest
