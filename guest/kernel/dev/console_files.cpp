// The program's stdin, stdout and stderr: the host's fds 0-2 behind the
// console device. Output goes into the console ring (dev/console.cpp);
// input comes through one hypercall per read, with read-ahead.
#include "kernel/dev/console.hpp"
#include "kernel/dev/console_node.hpp"
#include "kernel/dev/stdin_wait.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/tty/termios_std.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {


long host_stdin_read(void* buf, size_t len) {
    stdin_consumed();
    cache_flush_all();  // whoever feeds our stdin may look at the files first
    // One piece only: a second read could block after the first returned data.
    uint64_t gpa;
    len = phys_extent(buf, len, &gpa);
    volatile abi::HcIo io{};
    io.fd = 0;
    io.buf = gpa;
    io.len = len;
    hypercall(abi::kHcRead, &io);
    return io.result;
}

// Read-ahead for a stdin that is not a terminal: busybox and friends read
// 4 KiB at a time, one exit each; asking the host for 64 KiB at once (a pipe
// returns what it has, never waits for more) makes that 16x fewer. On a
// terminal every read goes through, so line editing behaves as usual.
// The host's stdin is one device of the VM, so its buffer is VM-wide.
constexpr size_t kStdinAhead = abi::kStdinReadAhead;
uint8_t g_stdin_buf[kStdinAhead];
size_t g_stdin_pos, g_stdin_len;
// The clone generation (abi.h) when the buffer was filled. A VM restored
// from a snapshot has a new stdin: bytes buffered from the old one are
// still delivered, but are not "ahead" of the new stream's offset.
uint32_t g_stdin_generation;

uint32_t clone_generation() { return *static_cast<volatile uint32_t*>(&boot().clone_generation); }
size_t stdin_ahead() { return g_stdin_generation == clone_generation() ? g_stdin_len - g_stdin_pos : 0; }

// lseek on a regular-file stdin: the host offset is ahead of the program's
// by what is still buffered; account for it and drop the buffer.
long stdin_seek(int64_t offset, int whence) {
    if (!(boot().flags & abi::kBootStdinSeekable))
        return -err::kSPipe;
    int64_t ahead = static_cast<int64_t>(stdin_ahead());
    volatile abi::HcSeek hc{whence == SEEK_CUR ? offset - ahead : offset, static_cast<uint32_t>(whence), 0, 0};
    hypercall(abi::kHcStdinSeek, &hc);
    if (hc.result >= 0) {
        g_stdin_pos = g_stdin_len = 0;
        boot().stdin_buffered = 0;
    }
    return hc.result;
}

// Whether a read of the host's stdin must first know it will not block:
// O_NONBLOCK, or other tasks that need the CPU meanwhile (a lone task
// blocks in the monitor, one exit less). A regular file never blocks.
bool wait_in_guest(bool nonblock) {
    if (boot().flags & abi::kBootStdinSeekable)
        return false;
    return nonblock || tasks_count() > 1;
}

long stdin_read(void* buf, size_t len, bool nonblock) {
    if (len == 0)
        return 0;
    if (g_stdin_pos == g_stdin_len) {
        if (wait_in_guest(nonblock))
            if (long r = stdin_wait_readable(nonblock))
                return r;
        if ((boot().flags & abi::kBootStdinTty) || len >= kStdinAhead)
            return host_stdin_read(buf, len);
        long n = host_stdin_read(g_stdin_buf, kStdinAhead);
        if (n <= 0)
            return n;
        g_stdin_pos = 0;
        g_stdin_len = static_cast<size_t>(n);
        g_stdin_generation = clone_generation();
    }
    size_t n = g_stdin_len - g_stdin_pos < len ? g_stdin_len - g_stdin_pos : len;
    memcpy(buf, g_stdin_buf + g_stdin_pos, n);
    g_stdin_pos += n;
    boot().stdin_buffered = static_cast<uint32_t>(stdin_ahead());
    return static_cast<long>(n);
}

constexpr uint64_t kConsoleRdev = ident::encode_dev(5, 1);

unsigned stream_of(FileKind k) { return k == FileKind::Stderr ? abi::kStreamStderr : abi::kStreamStdout; }
uint32_t stdio_index(FileKind k) { return k == FileKind::Stdin ? 0 : k == FileKind::Stdout ? 1 : 2; }

bool tostop();  // TOSTOP in the terminal's c_lflag (below, with the settings)

long console_read(OpenFile* f, void* buf, size_t len, int64_t) {
    // A background job reading the terminal: SIGTTIN first (before any
    // byte is taken: the input stays for the foreground job).
    if (file_is_tty(f))
        if (long r = ctty_job_check(console_ctty(), SIGTTIN))
            return r;
    const bool nonblock = f->flags & O_NONBLOCK;
    if (f->kind == FileKind::Stdin)
        return stdin_read(buf, len, nonblock);
    // Reading a terminal's output side works on Linux (same tty); pipes/files do not.
    return file_is_tty(f) ? stdin_read(buf, len, nonblock) : -err::kBadF;
}

long console_file_write(OpenFile* f, const void* buf, size_t len, int64_t) {
    // With TOSTOP a background job's output stops it (SIGTTOU); without,
    // background output is mixed in, as usual.
    if (file_is_tty(f) && tostop())
        if (long r = ctty_job_check(console_ctty(), SIGTTOU))
            return r;
    if (f->kind == FileKind::Stdin)
        return console_is_node(f) ? console_write(abi::kStreamStdout, buf, len) : -err::kBadF;
    return console_write(stream_of(f->kind), buf, len);
}

long console_seek(OpenFile* f, int64_t offset, int whence) {
    if (f->kind != FileKind::Stdin)
        return -err::kSPipe;
    return whence <= SEEK_END ? stdin_seek(offset, whence) : -err::kInval;
}

long console_stat(OpenFile* f, Stat* out) {
    uint32_t mode = boot().stdio_mode[stdio_index(f->kind)];
    if (file_is_tty(f))
        return synthetic_stat(out, ident::kDevDev, ident::kInoDevConsole, S_IFCHR | (mode & 07777), kConsoleRdev);
    if (f->device == kConsoleNode)
        return console_node_stat(out);
    return synthetic_stat(out, ident::kDevConsole, stdio_index(f->kind) + 1, mode ? mode : (S_IFIFO | 0600), 0);
}

long console_sync(OpenFile* f, bool) {
    if (f->kind != FileKind::Stdin)
        console_flush();
    return 0;
}

// The terminal's settings: one per VM, as the host's stdin, stdout and
// stderr are normally one terminal. They start as the host terminal's (the
// boot page), else a cooked 80x24 terminal. On a host terminal, TCSETS*
// and TIOCSWINSZ change it too (kHcTty) and this copy follows, so reading
// the settings costs no exit; without one, they change this copy only.
struct TtySettings {
    bool ready;
    termios t;
    winsize ws;
};
TtySettings g_tty;

void tty_size_from_boot() {
    const abi::TtyState& b = boot().tty;
    if (b.rows && b.cols)
        g_tty.ws = {b.rows, b.cols, b.xpixel, b.ypixel};
}

TtySettings& tty() {
    if (g_tty.ready)
        return g_tty;
    g_tty.ready = true;
    const abi::BootInfo& b = boot();
    if (b.tty_valid) {
        g_tty.t.c_iflag = b.tty.iflag;
        g_tty.t.c_oflag = b.tty.oflag;
        g_tty.t.c_cflag = b.tty.cflag;
        g_tty.t.c_lflag = b.tty.lflag;
        g_tty.t.c_line = b.tty.line;
        static_assert(sizeof b.tty.cc == sizeof g_tty.t.c_cc);
        memcpy(g_tty.t.c_cc, b.tty.cc, sizeof g_tty.t.c_cc);
    } else {
        termios_std(&g_tty.t);  // what a pty slave starts with too
    }
    g_tty.ws = {24, 80, 0, 0};
    if (b.tty_valid)
        tty_size_from_boot();
    return g_tty;
}

// One change to the host terminal (0 without one: the copy is all there is).
long host_tty(uint32_t op, uint32_t when, const termios* t, const winsize* ws) {
    if (!boot().tty_valid)
        return 0;
    volatile abi::HcTty hc{};
    hc.op = op;
    hc.when = when;
    if (t) {
        hc.state.iflag = t->c_iflag;
        hc.state.oflag = t->c_oflag;
        hc.state.cflag = t->c_cflag;
        hc.state.lflag = t->c_lflag;
        hc.state.line = t->c_line;
        for (size_t i = 0; i < sizeof t->c_cc; ++i)
            hc.state.cc[i] = t->c_cc[i];
    }
    if (ws) {
        hc.state.rows = ws->ws_row;
        hc.state.cols = ws->ws_col;
        hc.state.xpixel = ws->ws_xpixel;
        hc.state.ypixel = ws->ws_ypixel;
    }
    hypercall(abi::kHcTty, &hc);
    return hc.result;
}

// The settings in force, also in the boot page: a snapshot carries them,
// and the monitor that restores it puts them on its terminal.
void mirror_settings(const termios& t) {
    abi::TtyState& b = boot().tty;
    b.iflag = t.c_iflag;
    b.oflag = t.c_oflag;
    b.cflag = t.c_cflag;
    b.lflag = t.c_lflag;
    b.line = t.c_line;
    memcpy(b.cc, t.c_cc, sizeof b.cc);
}

// TCSETS, TCSETSW, TCSETSF. The same settings again need no exit, unless
// the input is to be flushed (the host holds it).
long tty_set(uint64_t request, uint64_t arg) {
    termios t;
    if (copy_from_user(&t, arg, sizeof t) < 0)
        return -err::kFault;
    // TCSETSW/TCSETSF apply after our output drains: the monitor drains
    // the console ring at every exit, the hypercall's included.
    if (request != TCSETSF && memcmp(&t, &tty().t, sizeof t) == 0) {
        if (request == TCSETSW)
            console_flush();
        return 0;
    }
    const uint32_t when = request == TCSETS ? abi::kTtyNow : request == TCSETSW ? abi::kTtyDrain : abi::kTtyFlush;
    if (long r = host_tty(abi::kTtySetAttr, when, &t, nullptr))
        return r;
    tty().t = t;
    mirror_settings(t);
    return 0;
}

long tty_set_winsize(uint64_t arg) {
    winsize ws;
    if (copy_from_user(&ws, arg, sizeof ws) < 0)
        return -err::kFault;
    if (memcmp(&ws, &tty().ws, sizeof ws) == 0)
        return 0;  // Linux neither: no SIGWINCH for the same size
    if (long r = host_tty(abi::kTtySetWinsize, 0, nullptr, &ws))
        return r;
    tty().ws = ws;
    return 0;
}

bool tostop() { return (tty().t.c_lflag & TOSTOP) != 0; }

// tcgetpgrp and tcgetsid: only for the caller's own controlling terminal.
long session_request(uint64_t request, uint64_t arg) {
    const Ctty& t = console_ctty();
    if (!ctty_is_callers(t))
        return -err::kNotTy;
    const auto id = static_cast<int32_t>(request == TIOCGPGRP ? ctty_foreground(t) : t.session);
    return copy_to_user(arg, &id, sizeof id);
}

// The terminal ioctls programs use to ask and set how the terminal behaves.
long console_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    if (!file_is_tty(f))
        return -err::kNotTy;
    if (tty_request_changes(request))
        if (long r = ctty_job_check(console_ctty(), SIGTTOU))
            // tiocspgrp turns the orphaned group's EIO into ENOTTY (Linux).
            return request == TIOCSPGRP && r == -err::kIo ? -err::kNotTy : r;
    switch (request) {
    case TCGETS:  // the kernel's struct termios (not the C library's larger one)
        return copy_to_user(arg, &tty().t, sizeof(termios));
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
        return tty_set(request, arg);
    case TIOCGWINSZ:
        return copy_to_user(arg, &tty().ws, sizeof(winsize));
    case TIOCSWINSZ:
        return tty_set_winsize(arg);
    case TCSBRK:  // tcdrain (arg != 0) or a break: both drain the output
        console_flush();
        return 0;
    case TCFLSH:
        return arg <= TCIOFLUSH ? 0 : -err::kInval;
    case TCXONC:
        return arg <= TCION ? 0 : -err::kInval;
    case TIOCGPGRP:
    case TIOCGSID:
        return session_request(request, arg);
    case TIOCSPGRP: {
        int32_t pgrp;
        if (copy_from_user(&pgrp, arg, sizeof pgrp) < 0)
            return -err::kFault;
        return ctty_set_pgrp(console_ctty(), pgrp);
    }
    case TIOCSCTTY:
        return ctty_set(console_ctty(), arg);
    case TIOCNOTTY:
        return ctty_drop(console_ctty());
    case FIONREAD: {  // what is buffered here (a terminal's input is not: 0)
        int32_t n = static_cast<int32_t>(stdin_ahead());
        return copy_to_user(arg, &n, sizeof n);
    }
    default:
        return -err::kNotTy;
    }
}

// Reading stdout or stderr reads stdin when they are the terminal.
bool reads_stdin(OpenFile* f) { return f->kind == FileKind::Stdin || file_is_tty(f); }

// Output never waits (the ring, or a write that blocks in the monitor);
// input is ready when buffered here or when the host's stdin says so.
// Pollable, so epoll takes the console like a terminal.
int console_poll(OpenFile* f) {
    int out = f->kind != FileKind::Stdin || file_is_tty(f) ? POLLOUT | POLLWRNORM : 0;
    if (!reads_stdin(f))
        return out;
    if (stdin_ahead() || (boot().flags & abi::kBootStdinSeekable))
        return out | POLLIN | POLLRDNORM;
    int in = stdin_revents();
    return out | in | ((in & POLLIN) ? POLLRDNORM : 0);
}

WaitQueue* console_wait_queue(OpenFile* f) { return reads_stdin(f) ? &stdin_queue() : nullptr; }

}  // namespace

void tty_window_changed() {
    if (g_tty.ready)  // else tty() reads the boot page when first asked
        tty_size_from_boot();
}

const FileOps kConsoleFileOps = {
    .read = console_read,
    .write = console_file_write,
    .seek = console_seek,
    .stat = console_stat,
    .sync = console_sync,
    .ioctl = console_ioctl,
    .poll = console_poll,
    .wait_queue = console_wait_queue,
    .release = nullptr,
    .tty = true,
    .seekable = false,  // lseek on a regular-file stdin works, pread does not
};

long console_node_open(uint32_t flags, OpenFile** out) {
    const bool write_only = (flags & O_ACCMODE) == O_WRONLY;
    OpenFile* f = file_alloc(write_only ? FileKind::Stdout : FileKind::Stdin, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    f->device = kConsoleNode;
    *out = f;
    return 0;
}

long console_node_stat(Stat* out) {
    return synthetic_stat(out, ident::kDevDev, ident::kInoDevConsole, S_IFCHR | 0600, kConsoleRdev);
}

bool console_is_node(const OpenFile* f) { return f->device == kConsoleNode || file_is_tty(f); }

}  // namespace lightvm::guest
