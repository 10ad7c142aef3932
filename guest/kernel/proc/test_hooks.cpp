// Test hooks: a lightvm-private system call (number kSysTestHook, far above
// Linux's) that the guest tests use to drive kernel paths no ordinary
// program reaches. Only registered when the monitor sets kBootTestHooks;
// otherwise the number is ENOSYS like any unknown call.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/syscalls/syscall.hpp"

namespace lightvm::guest {

namespace {

enum : uint64_t { kHookStackOverflow = 1 };

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

long sys_test_hook(const SyscallArgs& a) {
    switch (a.a0) {
    case kHookStackOverflow:
        return static_cast<long>(recurse(0));
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
