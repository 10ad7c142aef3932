// Opening /dev/fd/N, /proc/PID/fd/N and /dev/stdin|stdout|stderr: Linux
// follows the magic link to the file and opens it anew — a new open file
// description with its own offset and the access mode asked for now, not
// the one the descriptor was opened with (man 5 proc, /proc/pid/fd).
#include "kernel/fs/reopen.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/dir_cache.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kKept = O_ACCMODE | O_APPEND | O_NONBLOCK;

bool is_dir(const OpenFile* f) {
    return f->kind == FileKind::HostDir || f->kind == FileKind::TmpDir || f->kind == FileKind::SynthDir;
}

// A file in a share: the monitor opens the handle's file again.
long reopen_host(OpenFile* f, uint32_t flags, OpenFile** out) {
    cache_flush(f);  // written-behind data first: the new handle reads the host file
    abi::HcFs req = fs_request(abi::kFsReopen);
    long h = share_dir_handle(f);  // a directory opened from the listing cache
    if (h < 0)
        return h;
    req.handle = static_cast<uint32_t>(h);
    req.flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_TRUNC | O_DIRECTORY);
    long handle = fs_call(req);
    if (handle < 0)
        return handle;
    OpenFile* nf = file_alloc(f->kind, flags & kKept);
    if (!nf) {
        fs_close(static_cast<uint32_t>(handle));
        return -err::kNFile;
    }
    nf->handle = static_cast<uint32_t>(handle);
    nf->share = f->share;
    nf->mode = static_cast<uint32_t>(req.aux);
    *out = nf;
    return 0;
}

// A pipe: a new end with the access mode asked for (O_RDWR: both ends,
// as a FIFO opened so).
long reopen_pipe(Pipe* p, uint32_t flags, OpenFile** out) {
    uint32_t acc = flags & O_ACCMODE;
    FileKind kind = acc == O_RDONLY ? FileKind::PipeRead : acc == O_WRONLY ? FileKind::PipeWrite : FileKind::Fifo;
    OpenFile* f = file_alloc(kind, flags & (O_ACCMODE | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    f->pipe = p;
    pipe_open_ends(p, acc != O_WRONLY, acc != O_RDONLY);
    *out = f;
    return 0;
}

// Kinds whose open file holds nothing but its kind and device.
long reopen_plain(OpenFile* f, uint32_t flags, OpenFile** out) {
    OpenFile* nf = file_alloc(f->kind, flags & kKept);
    if (!nf)
        return -err::kNFile;
    nf->device = f->device;
    *out = nf;
    return 0;
}

}  // namespace

long reopen_file(OpenFile* f, uint32_t flags, OpenFile** out) {
    bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if ((flags & O_DIRECTORY) && !is_dir(f))
        return -err::kNotDir;
    if (is_dir(f) && writing)
        return -err::kIsDir;
    long r;
    switch (f->kind) {
    case FileKind::HostFile:
    case FileKind::HostDir:
        r = reopen_host(f, flags, out);
        break;
    case FileKind::TmpFile:
    case FileKind::TmpDir:
        r = tmpfs_reopen(f, flags, out);
        break;
    case FileKind::PipeRead:
    case FileKind::PipeWrite:
    case FileKind::Fifo:
        return reopen_pipe(f->pipe, flags, out);
    case FileKind::DevNull:
    case FileKind::DevZero:
    case FileKind::DevFull:
    case FileKind::DevRandom:
    case FileKind::Block:
    case FileKind::SynthDir:
        r = reopen_plain(f, flags, out);
        break;
    case FileKind::Socket:
        return -err::kNxio;  // Linux: a socket cannot be opened
    default:
        return 1;  // the console, /proc text, event files: the same description
    }
    if (r < 0)
        return r;
    if (f->path && !file_set_path(*out, f->path, strlen(f->path))) {
        file_put(*out);
        return -err::kNFile;
    }
    return 0;
}

}  // namespace lightvm::guest
