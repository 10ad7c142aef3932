#include "kernel/proc/cputime.hpp"

#include "kernel/proc/task.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/time/clock.hpp"

namespace lightvm::guest {

namespace {

// Charges the stretch since the mark to *bucket and starts a new one.
void charge(Task* t, uint64_t* bucket) {
    uint64_t now = monotonic_ns();
    if (t->cpu.mark_ns && now > t->cpu.mark_ns)
        *bucket += now - t->cpu.mark_ns;
    t->cpu.mark_ns = now;
}

struct Sum {
    const Process* p;
    uint64_t user, sys;
};

void add_task(Task* t, void* arg) {
    auto* s = static_cast<Sum*>(arg);
    if (t->process != s->p || t->sig.kernel_only || t->state == TaskState::Dead)
        return;
    uint64_t u, k;
    cputime_task(t, &u, &k);
    s->user += u;
    s->sys += k;
}

}  // namespace

void cputime_syscall_enter(Task* t) { charge(t, &t->cpu.user_ns); }
void cputime_syscall_exit(Task* t) { charge(t, &t->cpu.sys_ns); }

void cputime_stop(Task* t) {
    charge(t, &t->cpu.sys_ns);
    t->cpu.mark_ns = 0;
}

void cputime_start(Task* t) { t->cpu.mark_ns = monotonic_ns(); }

void cputime_task(const Task* t, uint64_t* user_ns, uint64_t* sys_ns) {
    *user_ns = t->cpu.user_ns;
    *sys_ns = t->cpu.sys_ns;
    // Only the running task has an open stretch; it is in the kernel now
    // (asking is a system call), so the stretch is system time.
    uint64_t now = monotonic_ns();
    if (t->cpu.mark_ns && now > t->cpu.mark_ns)
        *sys_ns += now - t->cpu.mark_ns;
}

void cputime_process(const Process* p, uint64_t* user_ns, uint64_t* sys_ns) {
    Sum s{p, 0, 0};
    task_for_each(add_task, &s);
    *user_ns = s.user;
    *sys_ns = s.sys;
}

void cputime_exit(Process* p) { cputime_process(p, &p->cpu.exit_user_ns, &p->cpu.exit_sys_ns); }

void cputime_reap(Process* parent, const Process* child, uint64_t* user_ns, uint64_t* sys_ns) {
    *user_ns = child->cpu.exit_user_ns + child->cpu.children_user_ns;
    *sys_ns = child->cpu.exit_sys_ns + child->cpu.children_sys_ns;
    parent->cpu.children_user_ns += *user_ns;
    parent->cpu.children_sys_ns += *sys_ns;
}

}  // namespace lightvm::guest
