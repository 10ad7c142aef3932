#include "kernel/proc/preempt.hpp"

#include "arch/x86_64/cpu.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/signal_deliver.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/syscalls/irq_frame.hpp"

extern "C" void lvm_preempt_entry();

namespace lightvm::guest {

namespace {

constexpr uint64_t kKernelFlags = 0x202;  // IF and the reserved bit: no TF, DF or AC in the kernel

// An interrupt is about to return to user code. A slice that ended, or a
// signal to deliver, sends the frame into the kernel on the task's own
// stack (lvm_preempt) rather than being handled here: a signal's default
// action may end or stop the task, and a task that switched away inside
// the handler would leave this CPU's interrupt stack and IrqState.busy
// taken, so the CPU would take no interrupt again (`signals timer-kill`:
// a child killed by its own SIGALRM while it computed).
bool user_return(irq::Frame* i) {
    Task* t = current();
    if (!t || !t->user || !irq::to_user_code(*i))
        return false;
    if (!this_cpu().need_resched && !signal_work(t))
        return false;
    // The task's kernel stack is empty while it runs user code: its top is
    // where lvm_syscall_entry would build the frame (current_frame()).
    SyscallFrame* f = current_frame();
    *f = syscall_frame_of(*i);
    i->rip = reinterpret_cast<uint64_t>(lvm_preempt_entry);
    i->rsp = reinterpret_cast<uint64_t>(f);
    i->rflags = kKernelFlags;
    return true;  // lvm_preempt continues under the lock the interrupt holds
}

}  // namespace

void preempt_init() { irq::set_user_return_hook(user_return); }

}  // namespace lightvm::guest

// arch/x86_64/entry.S: an interrupt's return was redirected here (above)
// with the program's registers in f, the kernel lock handed over: the
// slice ends, then signals go out as at the end of a system call. Its time
// is user time up to now.
extern "C" void lvm_preempt(lightvm::guest::SyscallFrame* f) {
    using namespace lightvm::guest;
    Task* t = current();
    cputime_syscall_enter(t);
    if (this_cpu().need_resched)
        sched_yield();
    if (signal_work(t))
        signal_user_return(f);
    signal_trap_refresh(t);
    cputime_syscall_exit(t);
    bkl_unlock();
}
