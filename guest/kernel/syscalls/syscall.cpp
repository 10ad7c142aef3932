#include "kernel/syscalls/syscall.hpp"

#include "kernel/dev/console.hpp"
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/signal_deliver.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/uapi.hpp"
#include "trace/strace.hpp"

namespace lightvm::guest {

namespace {

// ENOSYS, counted by number in the boot page for --stats' list of the
// unimplemented calls a program made (the entry keeps the number in rax).
long sys_unimplemented(const SyscallArgs&) {
    abi::BootInfo& b = boot();
    const auto nr = static_cast<uint32_t>(current_frame()->rax);
    uint32_t i = 0;
    while (i < b.enosys_count && b.enosys[i].nr != nr)
        ++i;
    if (i == b.enosys_count) {
        if (i == abi::kMaxSyscallHits) {
            b.enosys_dropped++;
            return -err::kNoSys;
        }
        b.enosys[b.enosys_count++] = {nr, 0};
    }
    b.enosys[i].count++;
    return -err::kNoSys;
}

// The dispatch table, built at compile time from table.def (a number out
// of range fails the build; table.hpp rejects a number used twice). Only
// the test hook is added at boot, when enabled.
struct Dispatch {
    SyscallHandler at[kMaxSyscall];
};
constexpr Dispatch make_dispatch() {
    Dispatch d{};
#define SYSCALL(name, handler, args, result) d.at[__NR_##name] = handler;
#include "kernel/syscalls/table.def"
    for (auto& h : d.at)
        if (!h)
            h = sys_unimplemented;
    return d;
}
constinit Dispatch g_dispatch = make_dispatch();

bool g_trace;

bool readable(uint64_t addr, uint64_t len, void*) { return access_ok(addr, len); }

void trace(uint64_t nr, const SyscallArgs& a, long result, bool returns) {
    char line[512];
    SyscallRecord rec{nr, {a.a0, a.a1, a.a2, a.a3, a.a4, a.a5}, result};
    size_t n = returns ? format_syscall(line, sizeof line, rec, readable, nullptr)
                       : format_syscall_entry(line, sizeof line, rec, readable, nullptr);
    console_write(abi::kStreamTrace, line, n);
}

}  // namespace

void syscalls_init() {
    register_test_hooks(g_dispatch.at);
    g_trace = boot().flags & abi::kBootTrace;
}

void trace_noreturn(uint64_t nr, uint64_t a0) {
    if (!g_trace)
        return;
    SyscallArgs args{};
    args.a0 = a0;
    trace(nr, args, 0, false);
}


SyscallFrame* current_frame() {
    return reinterpret_cast<SyscallFrame*>(current()->kstack.top - sizeof(SyscallFrame));
}

}  // namespace lightvm::guest

// From CPU cpu's entry code (arch/x86_64/percpu.S), always from user code.
// The task may block and continue on another CPU: after the call, this
// CPU is this_cpu(), not `cpu`.
extern "C" void lvm_syscall(lightvm::guest::SyscallFrame* frame, uint32_t cpu) {
    using namespace lightvm::guest;
    bkl_lock(cpu);
    boot().syscall_count++;
    cputime_syscall_enter(current());
    long result = -err::kNoSys;
    const uint64_t nr = frame->rax;
    const SyscallArgs args{frame->rdi, frame->rsi, frame->rdx, frame->r10, frame->r8, frame->r9};
    if (nr < kMaxSyscall && g_dispatch.at[nr])
        result = g_dispatch.at[nr](args);
    if (g_trace)
        trace(nr, args, result, true);
    frame->rax = static_cast<uint64_t>(result);
    if (this_cpu().need_resched)
        sched_yield();  // the time slice ended during the call (proc/preempt.hpp)
    // On the way out: a pending signal is delivered (the frame is rewritten
    // to enter its handler), an interrupted call restarts or says EINTR.
    if (signal_work(current()) || is_restart_code(result))
        signal_syscall_exit(frame, nr);
    signal_trap_refresh(current());  // handlers or mask may have changed
    cputime_syscall_exit(current());
    bkl_unlock();  // lvm_syscall_exit only pops this task's own stack
}
