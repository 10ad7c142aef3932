// Test hooks: a lightvm-private system call (number kSysTestHook, far above
// Linux's) that the guest tests use to drive kernel paths no ordinary
// program reaches. Only registered when the monitor sets kBootTestHooks;
// otherwise the number is ENOSYS like any unknown call.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/time/clock.hpp"

namespace lightvm::guest {

namespace {

enum : uint64_t { kHookStackOverflow = 1, kHookDelayedWrite = 2, kHookKthreadStackOverflow = 3, kHookDelayedValue = 4 };

// Recurses until the kernel stack's guard page stops it; each frame keeps
// 1 KiB live so the compiler can neither elide it nor turn it into a loop.
// The recursion is the point: it ends in the guard page.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) uint64_t recurse(uint64_t depth) {
    volatile uint8_t frame[1024];
    frame[0] = static_cast<uint8_t>(depth);
    frame[sizeof frame - 1] = static_cast<uint8_t>(depth >> 8);
    return recurse(depth + 1) + frame[0] + frame[sizeof frame - 1];
}
#pragma GCC diagnostic pop

// A kernel thread that sleeps, then writes a message into an open file:
// another task for the program to wait for (wait queues, the scheduler,
// idling until a deadline, waking a blocked reader).
struct DelayedWrite {
    OpenFile* file;
    uint64_t delay_ns;
    bool busy;
    bool value_only;  // write just `value` (8 bytes: an eventfd's add)
    uint64_t value;
};
DelayedWrite g_delayed;

void delayed_write(void* arg) {
    auto* d = static_cast<DelayedWrite*>(arg);
    sched_sleep_until(monotonic_ns() + d->delay_ns);
    static const char kMsg[] = "written by a kernel thread\n";
    if (d->value_only)
        file_write(d->file, &d->value, sizeof d->value, -1);
    else
        file_write(d->file, kMsg, sizeof kMsg - 1, -1);
    file_put(d->file);
    d->busy = false;
}

long hook_delayed_write(long fd, uint64_t delay_ms, bool value_only, uint64_t value) {
    OpenFile* f = fd_get(fd);
    if (!f)
        return -err::kBadF;
    if (g_delayed.busy || delay_ms > 60000)
        return -err::kInval;
    file_get(f);
    g_delayed = {f, delay_ms * 1000000, true, value_only, value};
    if (!kthread_create(delayed_write, &g_delayed, "delayed-write")) {
        g_delayed.busy = false;
        file_put(f);
        return -err::kAgain;
    }
    return 0;
}

void overflow_in_thread(void*) { recurse(0); }

long sys_test_hook(const SyscallArgs& a) {
    switch (a.a0) {
    case kHookStackOverflow:
        return static_cast<long>(recurse(0));
    case kHookDelayedWrite:
        return hook_delayed_write(fd_arg(a.a1), a.a2, false, 0);
    case kHookDelayedValue:
        return hook_delayed_write(fd_arg(a.a1), a.a2, true, a.a3);
    case kHookKthreadStackOverflow:
        if (!kthread_create(overflow_in_thread, nullptr, "overflow"))
            return -err::kAgain;
        sched_yield();  // let it run (and hit its guard page)
        return 0;
    default:
        return -err::kInval;
    }
}

}  // namespace

void register_test_hooks(SyscallHandler* t) {
    if (boot().flags & abi::kBootTestHooks)
        t[kSysTestHook] = sys_test_hook;
}

}  // namespace lightvm::guest
