#include "kernel/proc/exit.hpp"

#include "kernel/errno.hpp"
#include "kernel/proc/host_exec.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/rusage.hpp"
#include "kernel/proc/futex.hpp"
#include "kernel/proc/pgrp.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/time/timers.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

void fs_put(FsContext* fs) {
    if (fs && --fs->users == 0 && fs != fs_context_boot())
        kmem_free(fs, sizeof(FsContext));
}

// The nearest living subreaper above p, or the VM's first process.
Process* new_parent_for_orphans(Process* p) {
    for (Process* a = p->parent; a; a = a->parent)
        if (a->state == ProcState::Alive && a->attrs.child_subreaper)
            return a;
    return process_first();
}

void reparent_children(Process* p) {
    Process* reaper = new_parent_for_orphans(p);
    bool zombies = false;
    while (Process* c = p->children) {
        process_unlink(c);
        process_adopt(reaper, c);
        zombies |= c->state == ProcState::Zombie;
        pgrp_child_reparented(c, p);
    }
    if (zombies)
        wake_up(reaper->child_wait);
}

// What the VM's status is when this wait status ends its first process.
int vm_status_of(int wait_status) {
    return (wait_status & 0x7f) ? 128 + (wait_status & 0x7f) : (wait_status >> 8) & 0xff;
}

// The last task of the process is leaving: the process ends.
[[noreturn]] void process_end(int wait_status) {
    Process* p = current_process();
    if (p == process_first())
        exit_vm(vm_status_of(wait_status), static_cast<unsigned>(wait_status & 0x7f));
    if (p->mm->users == 1) {
        memory_exit();  // shared file mappings reach their files
        // Off this address space before it goes: the parent's is the one
        // most likely to run next (it waits for us), so the switch is free.
        mm_load_root(p->parent->mm->root);
    }
    cputime_exit(p);  // before the task goes: wait4 and the parent's times need it
    rusage_exit(p);
    if (p->pid == p->sid)
        ctty_session_end(p->sid);  // its terminal's foreground group gets SIGHUP
    pgrp_exiting(p);  // may signal p too: before its handlers go
    process_release_resources(p);
    reparent_children(p);
    p->wait_status = wait_status;
    p->state = ProcState::Zombie;
    memcpy(p->exit_comm, current()->comm, sizeof p->exit_comm);  // for /proc/PID of the zombie
    p->task = nullptr;
    if (p->exec_id)
        exec_report_exit(p->exec_id, wait_status);  // the host's client waits for it, not the parent
    const bool autoreap = process_notify_parent(p);
    if (autoreap)
        process_unlink(p);  // nobody will wait for it: freed after the switch away
    sched_exit_task(autoreap ? p : nullptr);
}

struct FindThread {
    Process* p;
    Task* self;
    Task* found;
};

// Another live task of p, or nullptr.
Task* other_thread(Process* p) {
    FindThread f{p, current(), nullptr};
    task_for_each(
        [](Task* t, void* arg) {
            auto* f = static_cast<FindThread*>(arg);
            if (t->process == f->p && t != f->self && t->user && t->state != TaskState::Dead)
                f->found = t;
        },
        &f);
    return f.found;
}

// SIGKILL to every other task of the current process (exit_group, a fatal
// signal, execve): each leaves at its next return towards user mode.
void kill_other_threads() {
    FindThread f{current_process(), current(), nullptr};
    task_for_each(
        [](Task* t, void* arg) {
            auto* f = static_cast<FindThread*>(arg);
            if (t->process == f->p && t != f->self && t->user && t->state != TaskState::Dead)
                signal_send_task(t, SIGKILL, nullptr);
        },
        &f);
}

// The current task leaves its thread group: its robust mutexes are marked
// owner-dead, its CLONE_CHILD_CLEARTID word
// is zeroed and woken (pthread_join), a vfork parent released; the last
// task out ends the process.
[[noreturn]] void thread_exit(int wait_status) {
    Process* p = current_process();
    Task* t = current();
    futex_exit_robust(t);  // before the clear-tid wake, as Linux's mm_release
    if (t->clear_child_tid) {
        if (UserPtr<uint32_t>(t->clear_child_tid).write(0) == 0)
            futex_wake(t->clear_child_tid, 1);
        t->clear_child_tid = 0;
    }
    sched_release_vfork(t);
    if (--p->nthreads == 0)
        process_end(wait_status);
    rusage_task_exit(t);  // its faults and switches stay the process's
    if (p->task == t)
        p->task = other_thread(p);
    if (p->exec_waiter && p->nthreads == 1)
        sched_wake(p->exec_waiter);
    sched_exit_task();
}

// exit_group and fatal signals: with other threads, they are killed and
// the last one out ends the process with the first status given.
[[noreturn]] void group_exit(int wait_status) {
    Process* p = current_process();
    if (p->exec_waiter && p->exec_waiter != current())
        thread_exit(0);  // a sibling execs: only this thread goes
    if (p == process_first() && p->nthreads > 1 && !p->group_exit)
        exit_vm(vm_status_of(wait_status), static_cast<unsigned>(wait_status & 0x7f));  // all of it ends
    if (!p->group_exit) {
        p->group_exit = true;
        p->group_wait_status = wait_status;
        kill_other_threads();
    }
    thread_exit(p->group_wait_status);
}

}  // namespace

void process_release_resources(Process* p) {
    if (p->sig.hand) {
        timers_exit(*p);
        signals_exit(*p);
    }
    as_put(p->mm);
    p->mm = nullptr;
    fd_table_put(p->files);
    p->files = nullptr;
    fs_put(p->fs);
    p->fs = nullptr;
    if (p->exe)
        file_put(p->exe);
    p->exe = nullptr;
}

// SIGCHLD (or clone's exit signal) with the child's status; a parent that
// ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT) gets no zombie at all: the
// child is reaped at once, as Linux does.
bool process_notify_parent(Process* child) {
    Process* parent = child->parent;
    const KSigAction& chld = parent->sig.hand->action[SIGCHLD - 1];
    // A process the host started (proc/host_exec.hpp) is never waited for here.
    bool autoreap = child->exec_id || (child->exit_signal == SIGCHLD &&
                    (chld.handler == reinterpret_cast<uint64_t>(SIG_IGN) || (chld.flags & SA_NOCLDWAIT)));
    if (child->exit_signal && !autoreap) {
        KSigInfo info{};
        info.signo = static_cast<int32_t>(child->exit_signal);
        int st = child->wait_status;
        info.code = (st & 0x7f) ? CLD_KILLED : CLD_EXITED;
        info.chld.pid = static_cast<int32_t>(child->pid);
        info.chld.uid = child->cred.uid;
        info.chld.status = (st & 0x7f) ? (st & 0x7f) : ((st >> 8) & 0xff);
        signal_send(parent, static_cast<int>(child->exit_signal), &info);
    }
    wake_up(parent->child_wait);
    return autoreap;
}

void process_exit(int code) { group_exit((code & 0xff) << 8); }

void process_thread_exit(int code) { thread_exit((code & 0xff) << 8); }

// No core file is ever written, so the status never has WCOREDUMP set
// (Linux sets it only when a core was dumped).
void process_kill_self(unsigned sig) { group_exit(static_cast<int>(sig & 0x7f)); }

long process_single_thread() {
    Process* p = current_process();
    if (p->nthreads == 1)
        return 0;
    if (p->group_exit || p->exec_waiter)
        return -err::kAgain;  // the group is going already: this exec loses
    p->exec_waiter = current();
    kill_other_threads();
    while (p->nthreads > 1)
        sched_block(0);
    p->exec_waiter = nullptr;
    current()->tid = p->pid;  // the exec'ing thread becomes the leader, as Linux
    p->task = current();
    return 0;
}

}  // namespace lightvm::guest
