#include "kernel/fs/file_ops.hpp"

#include "arch/x86_64/cpu.hpp"
#include "kernel/dev/console.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/mm/uaccess.hpp"
#include "lib/chacha20.hpp"

namespace lightvm::guest {

ChaCha20Rng& kernel_rng();

namespace {

constexpr uint32_t kOAppend = 02000;
constexpr uint32_t kSIfChr = 0020000, kSIfBlk = 0060000, kSIfDir = 0040000, kSIfIfo = 0010000;

// buf: kernel memory or validated user memory (virt_to_gpa tells them apart).
long block_io(uint32_t op, uint32_t device, const void* buf, uint64_t len, uint64_t offset) {
    volatile abi::HcBlock& hc = this_cpu().hc_block;
    hc.op = op;
    hc.device = device;
    hc.buf = buf ? virt_to_gpa(buf) : 0;
    hc.len = len;
    hc.offset = offset;
    hc.result = 0;
    hypercall(abi::kHcBlock, &hc);
    return hc.result;
}

uint64_t block_capacity(uint32_t device) { return boot().devices[device].capacity; }

// A device does not grow: reads stop at the end (0 there), writes past it
// are short, and ENOSPC at the end itself.
long block_rw(OpenFile* f, uint32_t op, const void* buf, uint64_t len, uint64_t off, bool advance) {
    uint64_t cap = block_capacity(f->device);
    if (off >= cap)
        return op == abi::kBlockWrite && len ? -28 : 0;
    if (len > cap - off)
        len = cap - off;
    long n = block_io(op, f->device, buf, len, off);
    if (n > 0 && advance)
        f->offset += static_cast<uint64_t>(n);
    return n;
}

long host_stdin_read(void* buf, size_t len) {
    cache_flush_all();  // whoever feeds our stdin may look at the files first
    volatile abi::HcIo io{};
    io.fd = 0;
    io.buf = virt_to_gpa(buf);
    io.len = len;
    hypercall(abi::kHcRead, &io);
    return io.result;
}

// Read-ahead for a stdin that is not a terminal: busybox and friends read
// 4 KiB at a time, one exit each; asking the host for 64 KiB at once (a pipe
// returns what it has, never waits for more) makes that 16x fewer. On a
// terminal every read goes through, so line editing behaves as usual.
constexpr size_t kStdinAhead = abi::kStdinReadAhead;
uint8_t g_stdin_buf[kStdinAhead];
size_t g_stdin_pos, g_stdin_len;

// lseek on a regular-file stdin: the host offset is ahead of the program's
// by what is still buffered; account for it and drop the buffer.
long stdin_seek(int64_t offset, int whence) {
    if (!(boot().flags & abi::kBootStdinSeekable))
        return -err::kSPipe;
    int64_t ahead = static_cast<int64_t>(g_stdin_len - g_stdin_pos);
    volatile abi::HcSeek hc{whence == 1 ? offset - ahead : offset, static_cast<uint32_t>(whence), 0, 0};
    hypercall(abi::kHcStdinSeek, &hc);
    if (hc.result >= 0) {
        g_stdin_pos = g_stdin_len = 0;
        boot().stdin_buffered = 0;
    }
    return hc.result;
}

long stdin_read(void* buf, size_t len) {
    if (len == 0)
        return 0;
    if (g_stdin_pos == g_stdin_len) {
        if ((boot().flags & abi::kBootStdinTty) || len >= kStdinAhead)
            return host_stdin_read(buf, len);
        long n = host_stdin_read(g_stdin_buf, kStdinAhead);
        if (n <= 0)
            return n;
        g_stdin_pos = 0;
        g_stdin_len = static_cast<size_t>(n);
    }
    size_t n = g_stdin_len - g_stdin_pos < len ? g_stdin_len - g_stdin_pos : len;
    memcpy(buf, g_stdin_buf + g_stdin_pos, n);
    g_stdin_pos += n;
    boot().stdin_buffered = static_cast<uint32_t>(g_stdin_len - g_stdin_pos);
    return static_cast<long>(n);
}

unsigned stream_of(FileKind k) { return k == FileKind::Stderr ? abi::kStreamStderr : abi::kStreamStdout; }

long synthetic_stat(Stat* out, uint32_t mode, uint64_t ino, uint64_t rdev) {
    Stat st{};
    st.dev = 1;
    st.ino = ino;
    st.nlink = 1;
    st.mode = mode;
    st.rdev = rdev;
    st.blksize = 4096;
    memcpy(out, &st, sizeof st);
    return 0;
}

uint32_t stdio_index(FileKind k) { return k == FileKind::Stdin ? 0 : k == FileKind::Stdout ? 1 : 2; }

}  // namespace

bool file_is_tty(const OpenFile* f) {
    uint32_t fl = boot().flags;
    switch (f->kind) {
    case FileKind::Stdin:
        return fl & abi::kBootStdinTty;
    case FileKind::Stdout:
        return fl & abi::kBootStdoutTty;
    case FileKind::Stderr:
        return fl & abi::kBootStderrTty;
    default:
        return false;
    }
}

bool file_seekable(const OpenFile* f) {
    return f->kind == FileKind::HostFile || f->kind == FileKind::HostDir || f->kind == FileKind::Block ||
           f->kind == FileKind::DevNull || f->kind == FileKind::DevZero || f->kind == FileKind::RootDir ||
           f->kind == FileKind::Synthetic;
}

long file_read(OpenFile* f, void* buf, size_t len, int64_t at) {
    if ((f->flags & 3) == 1)  // O_WRONLY
        return -err::kBadF;
    uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at);
    switch (f->kind) {
    case FileKind::Stdin:
        return stdin_read(buf, len);
    case FileKind::Stdout:
    case FileKind::Stderr:
        // Reading a terminal's output side works on Linux (same tty); pipes/files do not.
        return file_is_tty(f) ? stdin_read(buf, len) : -err::kBadF;
    case FileKind::HostFile: {
        long n = cached_read(f, buf, len, off);
        if (n > 0 && at < 0)
            f->offset += static_cast<uint64_t>(n);
        return n;
    }
    case FileKind::HostDir:
    case FileKind::RootDir:
        return -err::kIsDir;
    case FileKind::PipeRead:
        return pipe_read(f->pipe, buf, len);
    case FileKind::PipeWrite:
        return -err::kBadF;
    case FileKind::DevNull:
        return 0;
    case FileKind::Synthetic: {
        if (off >= f->text_len)
            return 0;
        size_t n = f->text_len - off < len ? f->text_len - off : len;
        memcpy(buf, f->text + off, n);
        if (at < 0)
            f->offset += n;
        return static_cast<long>(n);
    }
    case FileKind::DevZero:
        memset(buf, 0, len);
        return static_cast<long>(len);
    case FileKind::DevRandom:
        kernel_rng().fill(buf, len);
        return static_cast<long>(len);
    case FileKind::Block:
        return block_rw(f, abi::kBlockRead, buf, len, off, at < 0);
    case FileKind::Free:
        break;
    }
    return -err::kBadF;
}

long file_write(OpenFile* f, const void* buf, size_t len, int64_t at) {
    if ((f->flags & 3) == 0 && f->kind != FileKind::Stdout && f->kind != FileKind::Stderr &&
        f->kind != FileKind::PipeWrite)
        return -err::kBadF;  // opened O_RDONLY
    switch (f->kind) {
    case FileKind::Stdout:
    case FileKind::Stderr:
        return console_write(stream_of(f->kind), buf, len);
    case FileKind::Stdin:
        return file_is_tty(f) ? console_write(abi::kStreamStdout, buf, len) : -err::kBadF;
    case FileKind::HostFile: {
        bool append = (f->flags & kOAppend) && at < 0;
        uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at), pos = off;
        long n = cached_write(f, buf, len, off, append, &pos);
        if (n >= 0 && at < 0)
            f->offset = pos;
        return n;
    }
    case FileKind::HostDir:
    case FileKind::RootDir:
        return -err::kIsDir;
    case FileKind::PipeWrite: {
        long n = pipe_write(f->pipe, buf, len);
        if (n == -err::kPipe)
            exit_vm(128 + 13, 13);  // SIGPIPE's default action (no signal delivery yet)
        return n;
    }
    case FileKind::PipeRead:
        return -err::kBadF;
    case FileKind::DevNull:
    case FileKind::DevZero:
    case FileKind::DevRandom:
        return static_cast<long>(len);
    case FileKind::Synthetic:
        return -err::kBadF;
    case FileKind::Block: {
        if (boot().devices[f->device].flags & abi::kDevReadOnly)
            return -30;  // EROFS
        uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at);
        return block_rw(f, abi::kBlockWrite, buf, len, off, at < 0);
    }
    case FileKind::Free:
        break;
    }
    return -err::kBadF;
}

long file_seek(OpenFile* f, int64_t offset, int whence) {
    constexpr int kSet = 0, kCur = 1, kEnd = 2, kData = 3, kHole = 4;
    if (f->kind == FileKind::Stdin)
        return whence <= kEnd ? stdin_seek(offset, whence) : -err::kInval;
    if (!file_seekable(f))
        return -err::kSPipe;
    if (f->kind == FileKind::HostFile && (whence != kSet && whence != kCur)) {
        long e = cache_flush(f);  // the size must include pending writes
        if (e < 0)
            return e;
    }
    if (f->kind == FileKind::DevNull || f->kind == FileKind::DevZero)
        return 0;
    if (f->kind == FileKind::HostDir) {
        abi::HcFs r = fs_request(abi::kFsSeek);
        r.handle = f->handle;
        r.offset = offset;
        r.flags = static_cast<uint32_t>(whence);
        return fs_call(r);
    }
    if (f->kind == FileKind::RootDir) {
        if (whence != kSet || offset < 0)
            return -err::kInval;
        f->offset = static_cast<uint64_t>(offset);
        return offset;
    }
    int64_t base;
    switch (whence) {
    case kSet:
        base = 0;
        break;
    case kCur:
        base = static_cast<int64_t>(f->offset);
        break;
    case kEnd:
    case kData:
    case kHole: {
        if (f->kind == FileKind::Synthetic) {
            base = f->text_len;
            if (whence != kEnd)
                return -err::kInval;
            break;
        }
        if (f->kind == FileKind::Block) {
            base = static_cast<int64_t>(block_capacity(f->device));
            if (whence == kData)
                return offset < base ? offset : -6;  // ENXIO
            if (whence == kHole)
                return offset < base ? base : -6;
            break;
        }
        if (whence != kEnd) {
            abi::HcFs r = fs_request(abi::kFsSeek);
            r.handle = f->handle;
            r.offset = offset;
            r.flags = static_cast<uint32_t>(whence);
            long pos = fs_call(r);
            if (pos >= 0)
                f->offset = static_cast<uint64_t>(pos);
            return pos;
        }
        Stat st;
        abi::HcFs r = fs_request(abi::kFsFstat);
        r.handle = f->handle;
        r.buf = kernel_to_gpa(&st);
        r.len = sizeof st;
        long s = fs_call(r);
        if (s < 0)
            return s;
        base = st.size;
        break;
    }
    default:
        return -err::kInval;
    }
    int64_t pos = base + offset;
    if ((offset > 0 && pos < base) || pos < 0)
        return -err::kInval;
    f->offset = static_cast<uint64_t>(pos);
    return pos;
}

long file_stat(OpenFile* f, Stat* out) {
    switch (f->kind) {
    case FileKind::Stdin:
    case FileKind::Stdout:
    case FileKind::Stderr: {
        uint32_t mode = boot().stdio_mode[stdio_index(f->kind)];
        return synthetic_stat(out, mode ? mode : (kSIfIfo | 0600), stdio_index(f->kind) + 1, 0);
    }
    case FileKind::HostFile:
    case FileKind::HostDir: {
        if (f->kind == FileKind::HostFile) {
            long e = cache_flush(f);
            if (e < 0)
                return e;
        }
        abi::HcFs r = fs_request(abi::kFsFstat);
        r.handle = f->handle;
        r.buf = virt_to_gpa(out);
        r.len = sizeof(Stat);
        return fs_call(r);
    }
    case FileKind::RootDir:
        return synthetic_stat(out, kSIfDir | 0755, 2, 0);
    case FileKind::PipeRead:
    case FileKind::PipeWrite:
        return synthetic_stat(out, kSIfIfo | 0600, 100, 0);
    case FileKind::DevNull:
        return synthetic_stat(out, kSIfChr | 0666, 10, (1 << 8) | 3);
    case FileKind::DevZero:
        return synthetic_stat(out, kSIfChr | 0666, 11, (1 << 8) | 5);
    case FileKind::DevRandom:
        return synthetic_stat(out, kSIfChr | 0666, 12, (1 << 8) | 9);
    case FileKind::Block:
        return synthetic_stat(out, kSIfBlk | 0660, 20 + f->device, (253u << 8) | f->device);
    case FileKind::Synthetic: {
        long r = synthetic_stat(out, 0100444, 30, 0);
        out->size = 0;  // like procfs: the size is learnt by reading
        return r;
    }
    case FileKind::Free:
        break;
    }
    return -err::kBadF;
}

long file_sync(OpenFile* f, bool data_only) {
    switch (f->kind) {
    case FileKind::HostFile:
    case FileKind::HostDir: {
        if (f->kind == FileKind::HostFile) {
            long e = cache_flush(f);
            if (e < 0)
                return e;
        }
        abi::HcFs r = fs_request(abi::kFsFsync);
        r.handle = f->handle;
        r.flags = data_only ? 1 : 0;
        return fs_call(r);
    }
    case FileKind::Block:
        return block_io(abi::kBlockFlush, f->device, nullptr, 0, 0);
    case FileKind::Stdout:
    case FileKind::Stderr:
        console_flush();
        return 0;
    case FileKind::PipeRead:
    case FileKind::PipeWrite:
        return -err::kInval;
    default:
        return 0;
    }
}

long file_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    constexpr uint64_t kTcgets = 0x5401, kTiocgwinsz = 0x5413, kTiocgpgrp = 0x540f, kFionread = 0x541b,
                       kBlkGetSize64 = 0x80081272, kBlkSszGet = 0x1268, kBlkGetSize = 0x1260;
    if (f->kind == FileKind::Block) {
        uint64_t cap = block_capacity(f->device);
        if (request == kBlkGetSize64 || request == kBlkGetSize || request == kBlkSszGet) {
            if (!access_ok(arg, 8))
                return -err::kFault;
            if (request == kBlkGetSize64)
                *reinterpret_cast<uint64_t*>(arg) = cap;
            else if (request == kBlkGetSize)
                *reinterpret_cast<uint64_t*>(arg) = cap / 512;
            else
                *reinterpret_cast<int32_t*>(arg) = 512;
            return 0;
        }
        return -err::kNotTy;
    }
    if (request == kFionread && (f->kind == FileKind::PipeRead)) {
        if (!access_ok(arg, 4))
            return -err::kFault;
        *reinterpret_cast<int32_t*>(arg) = static_cast<int32_t>(pipe_available(f->pipe));
        return 0;
    }
    if (!file_is_tty(f))
        return -err::kNotTy;
    switch (request) {
    case kTcgets: {
        // The kernel's struct termios: 4 flag words, c_line, 19 c_cc = 36 bytes.
        constexpr size_t kTermiosSize = 36;
        if (!access_ok(arg, kTermiosSize))
            return -err::kFault;
        // A cooked terminal: ICRNL | OPOST|ONLCR | B38400|CS8|CREAD | ISIG|ICANON|ECHO...
        uint8_t t[kTermiosSize] = {};
        const uint32_t flags[4] = {0x500, 0x5, 0xbf, 0x8a3b};
        memcpy(t, flags, sizeof flags);
        memcpy(reinterpret_cast<void*>(arg), t, kTermiosSize);
        return 0;
    }
    case kTiocgwinsz: {
        if (!access_ok(arg, 8))
            return -err::kFault;
        uint16_t ws[4] = {24, 80, 0, 0};
        memcpy(reinterpret_cast<void*>(arg), ws, 8);
        return 0;
    }
    case kTiocgpgrp:
        if (!access_ok(arg, 4))
            return -err::kFault;
        *reinterpret_cast<int32_t*>(arg) = static_cast<int32_t>(boot().pid);
        return 0;
    case kFionread:
        if (!access_ok(arg, 4))
            return -err::kFault;
        *reinterpret_cast<int32_t*>(arg) = 0;
        return 0;
    default:
        return -err::kNotTy;
    }
}

int file_poll(const OpenFile* f) {
    constexpr int kIn = 1, kOut = 4;
    switch (f->kind) {
    case FileKind::PipeRead:
        return pipe_readable(f->pipe) ? kIn : 0;
    case FileKind::PipeWrite:
        return kOut;
    default:
        return kIn | kOut;  // files and streams: reads block in the monitor at worst
    }
}

}  // namespace lightvm::guest
