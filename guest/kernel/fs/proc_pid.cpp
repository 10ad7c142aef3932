// /proc/PID paths (see proc_pid.hpp): the magic links, the pid directories
// and their identities. The text files' formats are in proc_pid_text.cpp.
#include "kernel/fs/proc_pid.hpp"

#include "kernel/fs/page_cache.hpp"

#include "kernel/dev/console_node.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/dir_entry.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/page_cache.hpp"
#include "kernel/fs/resolved.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/tty/pty.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"
#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

// "N" without a sign or leading zeros (Linux: /proc/01 does not exist); not 0.
bool parse_pid(const char* s, size_t n, uint32_t* out) {
    return parse_canonical_u32(s, n, 9, out) && *out != 0;
}

size_t put_udec(char* buf, uint64_t v) {
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; ++i)
        buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return n;
}

bool is(const char* c, size_t n, const char* lit) { return strlen(lit) == n && memcmp(c, lit, n) == 0; }

// A path cut into components after "/proc/".
struct Parts {
    const char* c[4];
    size_t n[4];
    size_t end[4];  // offset in abs just past component i
    int count;      // up to 4; more components count as 4 (and 5 = "too deep")
};

Parts split(const char* a, size_t len) {
    Parts p{};
    size_t i = 6;  // past "/proc/"
    while (i < len && p.count < 5) {
        size_t s = i;
        while (i < len && a[i] != '/')
            ++i;
        if (p.count < 4) {
            p.c[p.count] = a + s;
            p.n[p.count] = i - s;
            p.end[p.count] = i;
        }
        ++p.count;
        ++i;  // the separator
    }
    return p;
}

// Replaces out.abs[from, to) with repl.
long splice(Resolved& out, size_t from, size_t to, const char* repl, size_t rlen) {
    size_t tail = out.abs_len - to;
    if (from + rlen + tail >= sizeof out.abs)
        return -err::kNameTooLong;
    memmove(out.abs + from + rlen, out.abs + to, tail);
    memcpy(out.abs + from, repl, rlen);
    out.abs_len = from + rlen + tail;
    out.abs[out.abs_len] = 0;
    out.rewritten = true;
    return 0;
}

struct Entry {
    const char* name;
    PidFile file;
    uint8_t type;
};
constexpr Entry kEntries[] = {
    {"fd", PidFile::FdDir, DT_DIR},        {"task", PidFile::TaskDir, DT_DIR},  {"exe", PidFile::Exe, DT_LNK},
    {"cwd", PidFile::Cwd, DT_LNK},         {"stat", PidFile::Stat, DT_REG},     {"status", PidFile::Status, DT_REG},
    {"cmdline", PidFile::Cmdline, DT_REG}, {"comm", PidFile::Comm, DT_REG},     {"environ", PidFile::Environ, DT_REG},
    {"statm", PidFile::Statm, DT_REG},     {"maps", PidFile::Maps, DT_REG},     {"mounts", PidFile::Mounts, DT_REG},
    {"auxv", PidFile::Auxv, DT_REG},
};

const Entry* entry_named(const char* c, size_t n) {
    for (const Entry& e : kEntries)
        if (is(c, n, e.name))
            return &e;
    return nullptr;
}

// One file under /proc/PID (its last component): out.special and friends.
long classify(Resolved& out, uint32_t pid, const Entry& e) {
    out.pid = pid;
    switch (e.file) {
    case PidFile::FdDir:
    case PidFile::TaskDir:
        out.special = Special::SynthDir;
        return 0;
    case PidFile::Exe:
        out.special = Special::SelfExe;
        out.link = ProcLink::Exe;
        out.link_pid = pid;
        return 0;
    case PidFile::Cwd:
        return 0;  // handled by the caller (a rewrite)
    case PidFile::Maps:
        out.special = Special::ProcMaps;
        return 0;
    case PidFile::Mounts:
        out.special = Special::ProcMounts;
        return 0;
    case PidFile::Auxv:
        out.special = Special::ProcText;
        out.proc = ProcFile::SelfAuxv;
        return 0;
    default:
        out.special = Special::ProcPid;
        out.pid_file = e.file;
        return 0;
    }
}

// One step over out.abs: 1 when it was rewritten (look again), 0 when
// done (out.special says what it is, None: not under /proc/PID), -errno.
long step(Resolved& out) {
    const char* a = out.abs;
    size_t len = out.abs_len;
    if (len < 7 || memcmp(a, "/proc/", 6) != 0)
        return 0;
    Parts p = split(a, len);
    char num[48];
    if (is(p.c[0], p.n[0], "self") || is(p.c[0], p.n[0], "thread-self")) {
        bool thread = p.n[0] != 4;
        size_t n = put_udec(num, current_process()->pid);
        if (thread) {
            memcpy(num + n, "/task/", 6);
            n += 6;
            n += put_udec(num + n, current()->tid);
        }
        if (p.count == 1) {
            out.link = thread ? ProcLink::ThreadSelf : ProcLink::Self;
            out.link_pid = current_process()->pid;
        }
        long r = splice(out, 6, p.end[0], num, n);
        return r < 0 ? r : 1;
    }
    uint32_t pid;
    if (!parse_pid(p.c[0], p.n[0], &pid))
        return 0;  // /proc/cpuinfo and the like
    Process* proc = process_find(pid);
    if (!proc)
        return -err::kNoEnt;
    if (p.count == 1) {
        out.special = Special::SynthDir;
        out.pid = pid;
        return 0;
    }
    if (is(p.c[1], p.n[1], "task") && p.count >= 3) {
        uint32_t tid;
        if (!parse_pid(p.c[2], p.n[2], &tid) || !proc->task || proc->task->tid != tid)
            return -err::kNoEnt;  // one task per process (threads come later)
        if (p.count == 3) {
            out.special = Special::SynthDir;
            out.pid = pid;
            return 0;
        }
        long r = splice(out, p.end[0], p.end[2], "", 0);  // task/TID/x is PID/x
        return r < 0 ? r : 1;
    }
    if (is(p.c[1], p.n[1], "fd") && p.count >= 3) {
        uint32_t fd;
        bool zero = p.n[2] == 1 && p.c[2][0] == '0';
        if ((!zero && !parse_pid(p.c[2], p.n[2], &fd)) || p.count > 3)
            return -err::kNoEnt;
        if (zero)
            fd = 0;
        if (!proc_fd_get(proc, fd))
            return -err::kNoEnt;
        out.special = Special::Fd;
        out.fd = fd;
        out.pid = pid;
        out.link = ProcLink::Fd;
        out.link_pid = pid;
        return 0;
    }
    const Entry* e = entry_named(p.c[1], p.n[1]);
    if (!e)
        return -err::kNoEnt;
    if (e->file == PidFile::Cwd) {
        if (!proc->fs)
            return -err::kNoEnt;  // a zombie has no cwd
        if (p.count == 2) {
            out.link = ProcLink::Cwd;
            out.link_pid = pid;
        }
        const char* cwd = proc->fs->cwd;
        size_t clen = proc->fs->cwd_len;
        long r = p.count == 2 || clen > 1 ? splice(out, 0, p.end[1], cwd, clen)
                                          : splice(out, 0, p.end[1], "", 0);  // "/" + "/rest"
        return r < 0 ? r : 1;
    }
    if (p.count > 2)
        return e->type == DT_DIR ? -err::kNoEnt : -err::kNotDir;
    return classify(out, pid, *e);
}

}  // namespace

long proc_pid_resolve(Resolved& out) {
    for (int hops = 0; hops < 8; ++hops) {
        long r = step(out);
        if (r <= 0)
            return r;
    }
    return -err::kLoop;
}

const char* proc_link_text(const Resolved& res, char* buf, size_t cap, size_t* len) {
    Process* p = process_find(res.link_pid);
    if (!p || cap < 48)
        return nullptr;
    switch (res.link) {
    case ProcLink::Self:
        *len = put_udec(buf, p->pid);
        return buf;
    case ProcLink::ThreadSelf:
        *len = put_udec(buf, p->pid);
        memcpy(buf + *len, "/task/", 6);
        *len += 6;
        *len += put_udec(buf + *len, p->task ? p->task->tid : p->pid);
        return buf;
    case ProcLink::Cwd:
        if (!p->fs)
            return nullptr;
        *len = p->fs->cwd_len;
        return p->fs->cwd;
    case ProcLink::Exe: {
        if (p->state == ProcState::Zombie)
            return nullptr;
        const char* exe = p->exe_path[0] ? p->exe_path : boot().exe_path;
        *len = strlen(exe);
        return exe;
    }
    case ProcLink::Fd: {
        OpenFile* f = proc_fd_get(p, res.fd);
        if (!f)
            return nullptr;
        *len = proc_fd_link(f, buf, cap);
        return buf;
    }
    default:
        return nullptr;
    }
}

size_t proc_fd_link(OpenFile* f, char* buf, size_t cap) {
    const char* fixed = nullptr;
    switch (f->kind) {
    case FileKind::DevNull: fixed = "/dev/null"; break;
    case FileKind::DevZero: fixed = "/dev/zero"; break;
    case FileKind::DevFull: fixed = "/dev/full"; break;
    case FileKind::ReadyMark: fixed = "/sys/devices/virtual/lightvm/ready"; break;
    case FileKind::DevRandom: fixed = f->device == ident::kRandomMinor ? "/dev/random" : "/dev/urandom"; break;
    case FileKind::EventFd: fixed = "anon_inode:[eventfd]"; break;
    case FileKind::TimerFd: fixed = "anon_inode:[timerfd]"; break;
    case FileKind::Epoll: fixed = "anon_inode:[eventpoll]"; break;
    case FileKind::SignalFd: fixed = "anon_inode:[signalfd]"; break;
    case FileKind::Inotify: fixed = "anon_inode:inotify"; break;
    case FileKind::PtyMaster: fixed = "/dev/ptmx"; break;
    case FileKind::PtySlave: {
        if (f->device == kPtyAsDevTty) {
            fixed = "/dev/tty";
            break;
        }
        static char pts[24] = "/dev/pts/";
        pts[9 + put_udec(pts + 9, f->pty->index)] = 0;
        fixed = pts;
        break;
    }
    case FileKind::Stdin:
    case FileKind::Stdout:
    case FileKind::Stderr:
        fixed = console_is_node(f) ? "/dev/console" : nullptr;
        break;
    default:
        break;
    }
    if (!fixed && f->path)
        fixed = f->path;  // directories keep their path
    if (!fixed && f->kind == FileKind::HostFile)
        fixed = page_cache_name(f->handle);  // files: the page cache keeps one per file
    size_t n = 0;
    if (!fixed && f->kind == FileKind::TmpFile && (n = tmpfs_fd_link(f, buf, cap)) > 0)
        return n;
    if (fixed) {
        n = strlen(fixed);
        n = n < cap ? n : cap;
        memcpy(buf, fixed, n);
        return n;
    }
    // Linux's "type:[inode]" for what has no path: pipes, sockets, and
    // here also the console's streams and files whose path is not kept.
    Stat st;
    uint64_t ino = file_stat(f, &st) == 0 ? st.ino : 0;
    const char* type = f->kind == FileKind::Socket                                 ? "socket"
                       : f->kind == FileKind::PipeRead || f->kind == FileKind::PipeWrite ||
                                 f->kind == FileKind::Fifo || f->kind == FileKind::Stdin ||
                                 f->kind == FileKind::Stdout || f->kind == FileKind::Stderr
                           ? "pipe"
                           : "file";
    char tmp[64];
    size_t t = strlen(type);
    memcpy(tmp, type, t);
    memcpy(tmp + t, ":[", 2);
    t += 2;
    t += put_udec(tmp + t, ino);
    tmp[t++] = ']';
    n = t < cap ? t : cap;
    memcpy(buf, tmp, n);
    return n;
}

OpenFile* proc_fd_get(const Process* p, long fd) {
    if (!p->files || fd < 0 || fd >= kMaxFds)
        return nullptr;
    return p->files->slots[fd].file;
}

uint64_t proc_pid_ino(uint32_t pid, PidFile f) { return (uint64_t{pid} << 32) | static_cast<uint64_t>(f); }
uint64_t proc_fd_ino(uint32_t pid, long fd) { return (uint64_t{pid} << 32) | (1u << 20) | static_cast<uint64_t>(fd); }

bool proc_pid_dir(const char* dir, size_t len, uint32_t* pid, PidFile* which) {
    if (len < 7 || memcmp(dir, "/proc/", 6) != 0)
        return false;
    Parts p = split(dir, len);
    if (!parse_pid(p.c[0], p.n[0], pid) || p.count > 3)
        return false;
    if (p.count == 1) {
        *which = PidFile::Dir;
        return true;
    }
    if (p.count == 2 && is(p.c[1], p.n[1], "fd")) {
        *which = PidFile::FdDir;
        return true;
    }
    if (is(p.c[1], p.n[1], "task")) {
        uint32_t tid;
        *which = p.count == 2 ? PidFile::TaskDir : PidFile::Count;  // Count: task/TID
        return p.count == 2 || parse_pid(p.c[2], p.n[2], &tid);
    }
    return false;
}

bool proc_pid_dir_entry(uint32_t pid, PidFile which, uint32_t index, DirEntry* out) {
    static char name[12];
    Process* p = process_find(pid);
    if (!p)
        return false;
    if (which == PidFile::TaskDir) {
        if (index != 0 || !p->task)
            return false;
        *out = {name, put_udec(name, p->task->tid), proc_pid_ino(pid, PidFile::Count), DT_DIR};
        return true;
    }
    if (which == PidFile::FdDir) {
        for (long fd = 0; fd < kMaxFds; ++fd) {
            if (proc_fd_get(p, fd) && index-- == 0) {
                *out = {name, put_udec(name, static_cast<uint64_t>(fd)), proc_fd_ino(pid, fd), DT_LNK};
                return true;
            }
        }
        return false;
    }
    for (const Entry& e : kEntries) {
        if (which == PidFile::Count && e.file == PidFile::TaskDir)
            continue;  // task/TID has no task directory of its own
        if (index-- == 0) {
            *out = {e.name, strlen(e.name), proc_pid_ino(pid, e.file), e.type};
            return true;
        }
    }
    return false;
}

bool proc_pid_list_entry(uint32_t index, DirEntry* out) {
    static char name[12];
    Process* p = process_nth(index);  // one table scan: a listing stays O(n * table)
    if (!p)
        return false;
    *out = {name, put_udec(name, p->pid), proc_pid_ino(p->pid, PidFile::Dir), DT_DIR};
    return true;
}

}  // namespace lightvm::guest
