// Files and directories in host directory shares: every operation is a
// request to the monitor's fs device (fs_client.hpp), through the
// read-ahead/write-behind cache for file data (file_cache.hpp).
#include "kernel/errno.hpp"
#include "kernel/fs/attr_cache.hpp"
#include "kernel/fs/dir_cache.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {


long host_read(OpenFile* f, void* buf, size_t len, int64_t at) {
    uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at);
    long n = cached_read(f, buf, len, off);
    if (n > 0 && at < 0)
        f->offset += static_cast<uint64_t>(n);
    return n;
}

long host_write(OpenFile* f, const void* buf, size_t len, int64_t at) {
    bool append = (f->flags & O_APPEND) && at < 0;
    uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at), pos = off;
    long n = cached_write(f, buf, len, off, append, &pos);
    if (n >= 0 && at < 0)
        f->offset = pos;
    return n;
}

long host_fstat(OpenFile* f, Stat* out) {
    if (fs_fresh_stat(f->handle, out))
        return 0;
    // A directory opened from the listing cache: its attributes came with it.
    if (f->handle == abi::kNoHandle && f->path && attr_get(f->path, strlen(f->path), out))
        return 0;
    long h = share_dir_handle(f);
    if (h < 0)
        return h;
    abi::HcFs r = fs_request(abi::kFsFstat);
    r.handle = static_cast<uint32_t>(h);
    r.buf = virt_to_gpa(out);
    r.len = sizeof(Stat);
    return fs_call(r);
}

// The host knows where data and holes are, and (directories) what a
// directory offset means.
long host_seek_request(OpenFile* f, int64_t offset, int whence) {
    // A directory read from its cached listing goes back to the host: a
    // rewind must see the directory as it is now, and the records' d_off
    // cookies are the host's.
    if (f->kind == FileKind::HostDir) {
        f->dir_fresh = false;
        dir_listing_drop(f);
    }
    long h = share_dir_handle(f);
    if (h < 0)
        return h;
    abi::HcFs r = fs_request(abi::kFsSeek);
    r.handle = static_cast<uint32_t>(h);
    r.offset = offset;
    r.flags = static_cast<uint32_t>(whence);
    return fs_call(r);
}

long host_seek(OpenFile* f, int64_t offset, int whence) {
    if (whence != SEEK_SET && whence != SEEK_CUR) {
        long e = cache_flush(f);  // the size must include pending writes
        if (e < 0)
            return e;
    }
    if (whence == SEEK_SET || whence == SEEK_CUR)
        return seek_within(f, offset, whence, 0);
    if (whence == SEEK_END) {
        Stat st;
        long s = host_fstat(f, &st);
        return s < 0 ? s : seek_within(f, offset, whence, st.size);
    }
    // SEEK_DATA, SEEK_HOLE and anything else: the host decides.
    long pos = host_seek_request(f, offset, whence);
    if (pos >= 0)
        f->offset = static_cast<uint64_t>(pos);
    return pos;
}

long host_stat(OpenFile* f, Stat* out) {
    long e = cache_flush(f);
    return e < 0 ? e : host_fstat(f, out);
}

long host_sync(OpenFile* f, bool data_only) {
    if (f->kind == FileKind::HostFile) {
        long e = cache_flush(f);
        if (e < 0)
            return e;
    }
    long h = share_dir_handle(f);
    if (h < 0)
        return h;
    abi::HcFs r = fs_request(abi::kFsFsync);
    r.handle = static_cast<uint32_t>(h);
    r.flags = data_only ? 1 : 0;
    return fs_call(r);
}

long host_file_release(OpenFile* f) {
    long err = cache_release(f);  // pending writes go out before the handle closes
    fs_close(f->handle);
    return err;
}

long host_dir_release(OpenFile* f) {
    dir_listing_drop(f);
    if (f->handle != abi::kNoHandle)
        fs_close(f->handle);
    return 0;
}


}  // namespace

const FileOps kHostFileOps = {
    .read = host_read,
    .write = host_write,
    .seek = host_seek,
    .stat = host_stat,
    .sync = host_sync,
    .ioctl = nullptr,
    .poll = nullptr,  // regular files are always ready
    .wait_queue = nullptr,
    .release = host_file_release,
    .tty = false,
    .seekable = true,
};

const FileOps kHostDirOps = {
    .read = dir_read,
    .write = dir_write,
    .seek = host_seek_request,
    .stat = host_fstat,
    .sync = host_sync,
    .ioctl = nullptr,
    .poll = nullptr,
    .wait_queue = nullptr,
    .release = host_dir_release,
    .tty = false,
    .seekable = true,
};

}  // namespace lightvm::guest
