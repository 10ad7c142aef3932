#include "kernel/proc/host_exec.hpp"

#include "kernel/errno.hpp"
#include "kernel/exec/exec_tty.hpp"
#include "kernel/exec/loader.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/kernel_open.hpp"
#include "kernel/fs/open_file.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/fpu.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"


namespace lightvm::guest {

long exec_from_kernel(const char* path, const char* strings, size_t len, uint32_t argc, uint32_t envc);  // execve.cpp

namespace {

volatile bool g_news;

constexpr uint64_t kUserCs = 0x33, kUserSs = 0x2b;

long exec_call(abi::HcExec& hc) {
    volatile abi::HcExec io;
    memcpy(const_cast<abi::HcExec*>(&io), &hc, sizeof hc);
    hypercall(abi::kHcExec, &io);
    return io.result;
}

void send_signal(const abi::ExecRequest& r) {
    for (Process* p = process_first(); p; p = process_next(p))
        if (p->exec_id == r.id && p->state == ProcState::Alive) {
            KSigInfo info{};
            info.signo = static_cast<int32_t>(r.signal);
            info.code = SI_USER;
            signal_send(p, static_cast<int>(r.signal), &info);
        }
}

bool has_nul(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!s[i])
            return true;
    return false;
}

// The strings hold argc + envc NUL-terminated strings: the monitor is
// trusted, but a short count would make the loader read past them.
bool strings_ok(const abi::ExecRequest& r) {
    if (r.strings_len > abi::kExecRequestMax - sizeof r || r.ngroups > abi::kExecMaxGroups || r.argc == 0)
        return false;
    const char* s = reinterpret_cast<const char*>(&r + 1);
    uint32_t nuls = 0;
    for (uint32_t i = 0; i < r.strings_len; ++i)
        nuls += s[i] == 0;
    return nuls >= r.argc + r.envc && r.strings_len && s[r.strings_len - 1] == 0 &&
           has_nul(r.path, sizeof r.path) && has_nul(r.cwd, sizeof r.cwd);
}

void set_identity(Process* p, const abi::ExecRequest& r) {
    Credentials& c = p->cred;
    c.uid = c.euid = c.suid = c.fsuid = r.uid;
    c.gid = c.egid = c.sgid = c.fsgid = r.gid;
    c.ngroups = 0;
    for (uint32_t i = 0; i < r.ngroups && c.ngroups < kMaxGroups; ++i)
        c.groups[c.ngroups++] = r.groups[i];
    if (r.uid != 0)  // a non-root process has no capabilities (proc/init.cpp)
        p->attrs.cap_eff_dropped = p->attrs.cap_prm_dropped = caps_all();
}

// The new task starts like a forked child (lvm_fork_child), on a zeroed
// user frame that exec_spawned_start fills in.
Task* new_task(Process* p, abi::ExecRequest* r) {
    Task* t = task_with_kstack();
    if (!t)
        return nullptr;
    t->tid = p->pid;
    t->process = p;
    t->user = true;
    t->sig.ss_flags = SS_DISABLE;
    t->spawn = r;
    memcpy(t->comm, "exec", 5);
    auto* frame = reinterpret_cast<SyscallFrame*>(t->kstack.top - sizeof(SyscallFrame));
    memset(frame, 0, sizeof *frame);
    frame->cs = kUserCs;
    frame->ss = kUserSs;
    frame->rflags = 0x202;
    task_start_from_frame(t);
    return t;
}

FsContext* fs_of_first() {
    auto* fs = static_cast<FsContext*>(kmem_alloc(sizeof(FsContext)));
    if (fs) {
        memcpy(fs, process_first()->fs, sizeof *fs);  // root, umask; the cwd is the request's
        fs->users = 1;
    }
    return fs;
}

// Everything but the task; -errno when memory or pids run out.
long new_process(abi::ExecRequest* r, Process** out) {
    Process* first = process_first();
    Process* p = process_alloc();
    if (!p)
        return -err::kAgain;
    set_identity(p, *r);
    memcpy(p->rlimit, first->rlimit, sizeof p->rlimit);
    p->pgid = p->sid = p->pid;  // its own session, as runc's exec (setsid)
    p->exec_id = r->id;
    p->start_ns = monotonic_ns();
    signals_fork(*p, *first, false);
    const bool own_handlers = p->sig.hand != first->sig.hand;  // not when memory ran out
    if (own_handlers)
        for (auto& a : p->sig.hand->action)  // every signal at its default, not the first process's choices
            a = KSigAction{};
    p->mm = as_create();
    p->files = fd_table_empty();
    p->fs = fs_of_first();
    Task* t = own_handlers && p->mm && p->files && p->fs ? new_task(p, r) : nullptr;
    if (!t) {
        process_release_resources(p);
        process_free(p);
        return -err::kNoMem;
    }
    p->task = t;
    p->nthreads = 1;
    process_adopt(first, p);
    *out = p;
    return 0;
}

void start(abi::ExecRequest* r) {
    Process* p = nullptr;
    if (!strings_ok(*r) || new_process(r, &p) < 0) {
        for (uint32_t h : r->stdio)
            host_close(h);
        exec_report_exit(r->id, 126 << 8);  // could not be started, as a shell's 126
        kmem_free(r, abi::kExecRequestMax);
        return;
    }
    p->task->state = TaskState::Running;
    sched_add_task(p->task);
}

// The news may bring several requests and signals: one exit each, then
// one that finds the queue empty.
void take_queue() {
    for (;;) {
        auto* r = static_cast<abi::ExecRequest*>(kmem_alloc(abi::kExecRequestMax));
        if (!r)
            return;  // the monitor rings again while its queue is not empty
        abi::HcExec hc{abi::kExecTake, 0, kernel_to_gpa(r), abi::kExecRequestMax, 0, 0, 0};
        if (exec_call(hc) != 1) {
            kmem_free(r, abi::kExecRequestMax);
            return;
        }
        if (r->kind == abi::kExecStart) {
            start(r);
            continue;
        }
        if (r->kind == abi::kExecSignal && r->signal >= 1 && r->signal <= 64)
            send_signal(*r);
        if (r->kind == abi::kExecResize)
            exec_tty_resize(r->id, static_cast<uint16_t>(r->signal >> 16), static_cast<uint16_t>(r->signal));
        kmem_free(r, abi::kExecRequestMax);
    }
}

// stdin, stdout, stderr: the host sockets the client connected.
bool install_stdio(const abi::ExecRequest& r) {
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
        Socket* s = ok ? sock_alloc(AF_UNIX, SOCK_STREAM) : nullptr;
        if (!s) {
            host_close(r.stdio[i]);
            ok = false;
            continue;
        }
        s->host = true;
        s->handle = r.stdio[i];
        s->state = SockState::Connected;
        s->bound = true;
        s->revents = POLLOUT;
        ok = sock_install(s, 0) == i;
    }
    return ok;
}

// The working directory must exist and be one (runc's exec fails its chdir
// otherwise): opened once to see.
long enter_cwd(const char* cwd) {
    OpenFile* f;
    if (long r = kernel_open(cwd, &f); r < 0)
        return r;
    const bool dir = f->kind == FileKind::HostDir || f->kind == FileKind::TmpDir || f->kind == FileKind::SynthDir;
    file_put(f);
    return dir ? vfs_set_cwd(cwd, strlen(cwd)) : -err::kNotDir;
}

}  // namespace

void exec_news() {
    g_news = true;
    this_cpu().need_resched = 1;
}

void exec_serve() {
    if (!g_news || !current())
        return;
    g_news = false;
    take_queue();
}

void exec_spawned_start(void* request) {
    auto* r = static_cast<abi::ExecRequest*>(request);
    fpu_exec();  // Linux's initial FPU state, not the last task's
    const bool stdio = (r->flags & abi::kExecTty) ? exec_tty_setup(*r) : install_stdio(*r);
    if (!stdio || enter_cwd(r->cwd) < 0) {
        kmem_free(r, abi::kExecRequestMax);
        process_exit(126);  // could not be started (runc: its chdir failed)
    }
    long err = exec_from_kernel(r->path, reinterpret_cast<const char*>(r + 1), r->strings_len, r->argc, r->envc);
    kmem_free(r, abi::kExecRequestMax);
    if (err)  // as a shell reports it: not found 127, found but not runnable 126
        process_exit(err == -err::kNoEnt || err == -err::kNotDir ? 127 : 126);
}

void exec_report_exit(uint32_t id, int wait_status) {
    abi::HcExec hc{abi::kExecDone, id, 0, 0, wait_status, 0, 0};
    exec_call(hc);
}

}  // namespace lightvm::guest
