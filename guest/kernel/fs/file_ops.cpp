#include "kernel/fs/file_ops.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {


// Stdout/stderr and pipe write ends are writable whatever the open flags
// say (they were made for writing); everything else follows O_ACCMODE.
bool writable(const OpenFile* f) {
    return (f->flags & O_ACCMODE) != O_RDONLY || f->kind == FileKind::Stdout || f->kind == FileKind::Stderr ||
           f->kind == FileKind::PipeWrite;
}

void (*g_notify)(OpenFile*, FileEvent);  // file_set_notify

}  // namespace

void file_set_notify(void (*fn)(OpenFile* f, FileEvent e)) { g_notify = fn; }

void file_notify(OpenFile* f, FileEvent e) {
    if (g_notify)
        g_notify(f, e);
}

long synthetic_stat(Stat* out, uint64_t dev, uint64_t ino, uint32_t mode, uint64_t rdev) {
    Stat st{};
    st.dev = dev;
    st.ino = ino;
    st.nlink = 1;
    st.mode = mode;
    st.rdev = rdev;
    st.blksize = 4096;
    int64_t boot_s = static_cast<int64_t>(boot().realtime_base_ns / 1000000000);
    int64_t boot_ns = static_cast<int64_t>(boot().realtime_base_ns % 1000000000);
    st.atime = st.mtime = st.ctime = boot_s;
    st.atime_ns = st.mtime_ns = st.ctime_ns = boot_ns;
    memcpy(out, &st, sizeof st);
    return 0;
}

const FileOps* file_ops_for(FileKind kind) {
    switch (kind) {
    case FileKind::Stdin:
    case FileKind::Stdout:
    case FileKind::Stderr:
        return &kConsoleFileOps;
    case FileKind::HostFile:
        return &kHostFileOps;
    case FileKind::HostDir:
        return &kHostDirOps;
    case FileKind::SynthDir:
        return &kSynthDirOps;
    case FileKind::PipeRead:
        return &kPipeReadOps;
    case FileKind::PipeWrite:
        return &kPipeWriteOps;
    case FileKind::Fifo:
        return &kFifoOps;
    case FileKind::DevNull:
        return &kDevNullOps;
    case FileKind::DevZero:
        return &kDevZeroOps;
    case FileKind::DevFull:
        return &kDevFullOps;
    case FileKind::ReadyMark:
        return &kReadyMarkOps;
    case FileKind::DevRandom:
        return &kDevRandomOps;
    case FileKind::Block:
        return &kBlockFileOps;
    case FileKind::Socket:
        return &kSocketOps;
    case FileKind::TmpFile:
        return &kTmpFileOps;
    case FileKind::TmpDir:
        return &kTmpDirOps;
    case FileKind::EventFd:
        return &kEventFdOps;
    case FileKind::TimerFd:
        return &kTimerFdOps;
    case FileKind::Epoll:
        return &kEpollOps;
    case FileKind::SignalFd:
        return &kSignalFdOps;
    case FileKind::Inotify:
        return &kInotifyOps;
    case FileKind::PtyMaster:
        return &kPtyMasterOps;
    case FileKind::PtySlave:
        return &kPtySlaveOps;
    case FileKind::Synthetic:
    case FileKind::Free:
        break;
    }
    return &kSyntheticFileOps;
}

long file_read(OpenFile* f, void* buf, size_t len, int64_t at) {
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -err::kBadF;
    long r = f->ops->read ? f->ops->read(f, buf, len, at) : -err::kInval;
    if (r > 0)
        file_notify(f, FileEvent::Access);
    return r;
}

long file_write(OpenFile* f, const void* buf, size_t len, int64_t at) {
    if (!writable(f))
        return -err::kBadF;
    long r = f->ops->write ? f->ops->write(f, buf, len, at) : -err::kInval;
    if (r > 0)
        file_notify(f, FileEvent::Modify);
    return r;
}

long file_seek(OpenFile* f, int64_t offset, int whence) {
    return f->ops->seek ? f->ops->seek(f, offset, whence) : -err::kSPipe;
}

long file_stat(OpenFile* f, Stat* out) { return f->ops->stat ? f->ops->stat(f, out) : -err::kBadF; }

long file_sync(OpenFile* f, bool data_only) { return f->ops->sync ? f->ops->sync(f, data_only) : 0; }

long file_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    return f->ops->ioctl ? f->ops->ioctl(f, request, arg) : -err::kNotTy;
}

bool file_is_tty(const OpenFile* f) {
    if (!f->ops->tty)
        return false;
    uint32_t fl = boot().flags;
    switch (f->kind) {
    case FileKind::Stdin:
        return fl & abi::kBootStdinTty;
    case FileKind::Stdout:
        return fl & abi::kBootStdoutTty;
    case FileKind::Stderr:
        return fl & abi::kBootStderrTty;
    case FileKind::PtyMaster:
    case FileKind::PtySlave:
        return true;
    default:
        return false;
    }
}

// No poll method: always ready, with Linux's DEFAULT_POLLMASK.
int file_poll(OpenFile* f) { return f->ops->poll ? f->ops->poll(f) : POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM; }

bool file_can_poll(const OpenFile* f) { return f->ops->poll != nullptr; }

WaitQueue* file_wait_queue(OpenFile* f) { return f->ops->wait_queue ? f->ops->wait_queue(f) : nullptr; }

bool file_seekable(const OpenFile* f) { return f->ops->seekable; }

long dir_read(OpenFile*, void*, size_t, int64_t) { return -err::kIsDir; }
long dir_write(OpenFile*, const void*, size_t, int64_t) { return -err::kIsDir; }

long seek_within(OpenFile* f, int64_t offset, int whence, int64_t size) {
    int64_t base;
    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = static_cast<int64_t>(f->offset);
        break;
    case SEEK_END:
        base = size;
        break;
    default:
        return -err::kInval;
    }
    int64_t pos = base + offset;
    if ((offset > 0 && pos < base) || pos < 0)
        return -err::kInval;
    f->offset = static_cast<uint64_t>(pos);
    return pos;
}

}  // namespace lightvm::guest
