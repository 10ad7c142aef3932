#include "kernel/proc/exit.hpp"

#include "kernel/proc/cputime.hpp"

#include "kernel/fs/fd_table.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/time/timers.hpp"
#include "kernel/proc/wait.hpp"
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
    }
    if (zombies)
        wake_up(reaper->child_wait);
}

[[noreturn]] void do_exit(int wait_status, int vm_status, unsigned sig) {
    Process* p = current_process();
    Task* t = current();
    if (p == process_first())
        exit_vm(vm_status, sig);  // the VM ends with its first process (the others with it)
    if (t->clear_child_tid) {
        UserPtr<uint32_t>(t->clear_child_tid).write(0);  // the futex wake comes with threads
        t->clear_child_tid = 0;
    }
    sched_release_vfork(t);
    if (p->mm->users == 1) {
        memory_exit();  // shared file mappings reach their files
        // Off this address space before it goes: the parent's is the one
        // most likely to run next (it waits for us), so the switch is free.
        mm_load_root(p->parent->mm->root);
    }
    cputime_exit(p);  // before the task goes: wait4 and the parent's times need it
    process_release_resources(p);
    reparent_children(p);
    p->wait_status = wait_status;
    p->state = ProcState::Zombie;
    memcpy(p->exit_comm, t->comm, sizeof p->exit_comm);  // for /proc/PID of the zombie
    p->task = nullptr;
    if (process_notify_parent(p))
        process_unlink(p);  // nobody will wait for it: freed after the switch away
    sched_exit_task();
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
    bool autoreap = child->exit_signal == SIGCHLD &&
                    (chld.handler == reinterpret_cast<uint64_t>(SIG_IGN) || (chld.flags & SA_NOCLDWAIT));
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

void process_exit(int code) { do_exit((code & 0xff) << 8, code & 0xff, 0); }

// No core file is ever written, so the status never has WCOREDUMP set
// (Linux sets it only when a core was dumped).
void process_kill_self(unsigned sig) { do_exit(static_cast<int>(sig & 0x7f), 128 + static_cast<int>(sig), sig); }

}  // namespace lightvm::guest
