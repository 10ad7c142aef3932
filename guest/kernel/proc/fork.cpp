// fork, vfork, clone and clone3 for new processes (threads: CLONE_THREAD,
// come with the threads work). The child gets a copy-on-write copy of the
// address space (or shares it: CLONE_VM, as posix_spawn's vfork-style
// clone does), a copy of the fd table and filesystem context (or shares
// them: CLONE_FILES, CLONE_FS), and a task whose kernel stack starts with
// a copy of the parent's syscall frame, so it returns from the same call
// with 0 (docs/design.md, "Processes").
#include "kernel/errno.hpp"
#include "kernel/proc/host_exec.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/fpu.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/sigframe.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/signal_deliver.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"


namespace lightvm::guest {

namespace {

struct CloneRequest {
    uint64_t flags;
    uint64_t stack;       // the child's stack pointer (0: the parent's)
    uint64_t parent_tid;  // CLONE_PARENT_SETTID
    uint64_t child_tid;   // CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID
    uint64_t tls;         // CLONE_SETTLS
    uint32_t exit_signal;
};

// What clone may ask for; anything else is EINVAL (namespaces, pidfds).
constexpr uint64_t kSupported = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_VFORK |
                                CLONE_PARENT | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
                                CLONE_CHILD_CLEARTID | CLONE_SYSVSEM | CLONE_DETACHED | CLONE_IO | CLONE_UNTRACED |
                                CLONE_PTRACE;

FsContext* fs_copy(const FsContext& src) {
    auto* fs = static_cast<FsContext*>(kmem_alloc(sizeof(FsContext)));
    if (!fs)
        return nullptr;
    memcpy(fs, &src, sizeof src);
    fs->users = 1;
    return fs;
}

// The child's task: its kernel stack holds the parent's syscall frame
// (result 0, maybe another stack and TLS) and below it a switch frame
// whose return address is lvm_fork_child.
Task* new_task(Process* child, uint32_t tid, const CloneRequest& rq) {
    Task* t = task_with_kstack();
    if (!t)
        return nullptr;
    Task* parent = current();
    t->tid = tid;
    t->process = child;
    t->user = true;
    t->fs_base = (rq.flags & CLONE_SETTLS) ? rq.tls : parent->fs_base;
    t->gs_base = parent->gs_base;
    t->sigmask = parent->sigmask;
    // The altstack is inherited by fork and vfork, not by a thread or any
    // other child on the same memory with its own stack (man 2 clone).
    const bool keep_altstack = !(rq.flags & CLONE_VM) || (rq.flags & CLONE_VFORK);
    t->sig.ss_sp = keep_altstack ? parent->sig.ss_sp : 0;
    t->sig.ss_size = keep_altstack ? parent->sig.ss_size : 0;
    t->sig.ss_flags = keep_altstack ? parent->sig.ss_flags : SS_DISABLE;
    memcpy(t->comm, parent->comm, sizeof t->comm);
    if (rq.flags & CLONE_CHILD_CLEARTID)
        t->clear_child_tid = rq.child_tid;
    if (rq.flags & CLONE_CHILD_SETTID)
        t->set_child_tid = rq.child_tid;

    auto* frame = reinterpret_cast<SyscallFrame*>(t->kstack.top - sizeof(SyscallFrame));
    *frame = *current_frame();
    frame->rax = 0;
    if (rq.stack)
        frame->rsp = rq.stack;
    task_start_from_frame(t);
    return t;
}

// The parts of a process a child copies or shares. -errno on failure
// (whatever was taken is released by process_release_resources).
long take_resources(Process* child, Process* parent, uint64_t flags) {
    if (flags & CLONE_VM) {
        child->mm = parent->mm;
        child->mm->users++;
    } else if (!(child->mm = as_fork(*parent->mm))) {
        return -err::kNoMem;
    }
    if (flags & CLONE_FILES) {
        child->files = parent->files;
        child->files->users++;
    } else if (!(child->files = fd_table_copy(*parent->files))) {
        return -err::kNoMem;
    }
    if (flags & CLONE_FS) {
        child->fs = parent->fs;
        child->fs->users++;
    } else if (!(child->fs = fs_copy(*parent->fs))) {
        return -err::kNoMem;
    }
    return 0;
}

void copy_identity(Process* child, const Process* parent) {
    child->pgid = parent->pgid;
    child->sid = parent->sid;
    child->ctty_gone = parent->ctty_gone;
    child->cred = parent->cred;
    memcpy(child->rlimit, parent->rlimit, sizeof child->rlimit);
    child->attrs = parent->attrs;
    child->attrs.pdeathsig = 0;  // not inherited (man 2 prctl)
    child->attrs.child_subreaper = false;
    child->exe = parent->exe;
    if (child->exe)
        file_get(child->exe);
    memcpy(child->exe_path, parent->exe_path, sizeof child->exe_path);
}

// CLONE_VFORK: the parent sleeps until the child execs or exits.
void wait_vfork_done() {
    Task* me = current();
    while (!me->vfork_done)
        sched_block(0);
    me->vfork_done = false;
}

// A new thread in the caller's process: only a task (Linux's rules:
// CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM).
long clone_thread(const CloneRequest& rq) {
    if (!(rq.flags & CLONE_SIGHAND) || !(rq.flags & CLONE_VM) || !(rq.flags & CLONE_FS) || !(rq.flags & CLONE_FILES))
        return -err::kInval;
    Process* p = current_process();
    if (p->group_exit || p->exec_waiter)
        return -err::kAgain;
    uint32_t tid = pid_alloc();
    Task* t = tid ? new_task(p, tid, rq) : nullptr;
    if (!t)
        return -err::kAgain;
    fpu_fork(t);  // a new thread starts with a copy of the creator's FPU state, as on Linux
    p->nthreads++;
    if (rq.flags & CLONE_PARENT_SETTID)
        UserPtr<uint32_t>(rq.parent_tid).write(tid);
    t->state = TaskState::Running;
    sched_add_task(t);
    return tid;
}

long do_clone(const CloneRequest& rq) {
    if (rq.flags & ~kSupported)
        return -err::kInval;
    if ((rq.flags & CLONE_SIGHAND) && !(rq.flags & CLONE_VM))
        return -err::kInval;
    if (rq.flags & CLONE_THREAD)
        return clone_thread(rq);
    Process* parent = current_process();
    Process* child = process_alloc();
    if (!child)
        return -err::kAgain;
    copy_identity(child, parent);
    signals_fork(*child, *parent, rq.flags & CLONE_SIGHAND);
    child->exit_signal = rq.exit_signal;
    child->start_ns = monotonic_ns();
    long r = take_resources(child, parent, rq.flags);
    Task* t = r < 0 ? nullptr : new_task(child, child->pid, rq);
    if (t)
        fpu_fork(t);  // MXCSR, the x87 control word and the registers, as fork keeps them
    if (!t) {
        process_release_resources(child);
        process_free(child);
        return r < 0 ? r : -err::kAgain;
    }
    child->task = t;
    child->nthreads = 1;
    process_adopt((rq.flags & CLONE_PARENT) && parent->parent ? parent->parent : parent, child);
    if (rq.flags & CLONE_PARENT_SETTID)
        UserPtr<uint32_t>(rq.parent_tid).write(child->pid);  // a bad pointer is ignored, as Linux does
    long pid = child->pid;
    if (rq.flags & CLONE_VFORK)
        t->vfork_parent = current();
    t->state = TaskState::Running;
    sched_add_task(t);
    if (rq.flags & CLONE_VFORK)
        wait_vfork_done();
    return pid;
}

}  // namespace

long sys_fork(const SyscallArgs&) { return do_clone({0, 0, 0, 0, 0, SIGCHLD}); }

long sys_vfork(const SyscallArgs&) { return do_clone({CLONE_VM | CLONE_VFORK, 0, 0, 0, 0, SIGCHLD}); }

// clone(flags, stack, parent_tid, child_tid, tls): x86-64's argument order.
long sys_clone(const SyscallArgs& a) {
    CloneRequest rq{a.a0 & ~uint64_t(CSIGNAL), a.a1, a.a2, a.a3, a.a4, static_cast<uint32_t>(a.a0 & CSIGNAL)};
    return do_clone(rq);
}

long sys_clone3(const SyscallArgs& a) {
    clone_args ca{};
    if (a.a1 < CLONE_ARGS_SIZE_VER0 || a.a1 > 4096)
        return -err::kInval;
    size_t n = a.a1 < sizeof ca ? a.a1 : sizeof ca;
    if (copy_from_user(&ca, a.a0, n) < 0)
        return -err::kFault;
    if (ca.exit_signal > 64 || (ca.stack && !ca.stack_size) || ca.set_tid || ca.cgroup)
        return -err::kInval;
    CloneRequest rq{ca.flags, ca.stack ? ca.stack + ca.stack_size : 0, ca.parent_tid, ca.child_tid, ca.tls,
                    static_cast<uint32_t>(ca.exit_signal)};
    return do_clone(rq);
}

// The child's first C code, on its own kernel stack in its own address
// space: finish the switch, then CLONE_CHILD_SETTID.
extern "C" void lvm_fork_tail() {
    sched_finish_switch();
    Task* t = current();
    cputime_start(t);  // its CPU time starts with its first instruction
    if (void* request = t->spawn) {  // started by the host: its program first
        t->spawn = nullptr;
        exec_spawned_start(request);
    }
    if (t->set_child_tid) {
        UserPtr<uint32_t>(t->set_child_tid).write(t->tid);
        t->set_child_tid = 0;
    }
    // A signal may have come before the first instruction (a thread group
    // being killed, a SIGCHLD handler's kill): delivered as on any return.
    signal_user_return(current_frame());
    signal_trap_refresh(t);  // this CPU's trap stubs learn its handlers
    bkl_unlock();            // the switch to it happened under the lock
}

}  // namespace lightvm::guest

namespace lightvm::guest {

// unshare (man 2 unshare): a process that shares its descriptor table or
// filesystem context with another (clone without CLONE_THREAD) takes its
// own copy. Namespaces are refused with EPERM: the VM is the isolation
// boundary and has none of them inside (docs/compat.md). Files and fs
// context belong to the process here, so with several threads they cannot
// be split per thread: EINVAL (Linux would give that thread its own).
long sys_unshare(const SyscallArgs& a) {
    constexpr uint64_t kNamespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                     CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;
    constexpr uint64_t kShared = CLONE_FILES | CLONE_FS | CLONE_SYSVSEM | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    const uint64_t flags = a.a0;
    if (flags & ~(kNamespaces | kShared))
        return -err::kInval;
    if (flags & kNamespaces)
        return -err::kPerm;
    Process* p = current_process();
    if ((flags & kShared & ~CLONE_SYSVSEM) && p->nthreads > 1)
        return -err::kInval;
    if ((flags & CLONE_FILES) && p->files->users > 1) {
        FdTable* own = fd_table_copy(*p->files);
        if (!own)
            return -err::kNoMem;
        fd_table_put(p->files);
        p->files = own;
    }
    if ((flags & CLONE_FS) && p->fs->users > 1) {
        FsContext* own = fs_copy(*p->fs);
        if (!own)
            return -err::kNoMem;
        p->fs->users--;  // others still use it
        p->fs = own;
    }
    return 0;
}

}  // namespace lightvm::guest
