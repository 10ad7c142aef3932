// The signal state Task and Process embed (proc/signal.hpp is the API).
// No uapi include: task.hpp, and so hosted unit tests, include this. The
// structs have Linux's layouts (asserted in signal.cpp against the uapi
// headers).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

inline constexpr int kNSig = 64;
inline constexpr uint64_t sig_bit(int sig) { return 1ull << (sig - 1); }

// siginfo_t as x86-64 Linux lays it out (128 bytes; the union at 16).
struct KSigInfo {
    int32_t signo, err, code, pad0;
    union {
        struct { int32_t pid; uint32_t uid; uint64_t value; } kill;  // SI_USER, SI_TKILL, SI_QUEUE
        struct { int32_t tid; int32_t overrun; uint64_t value; } timer;  // SI_TIMER
        struct { int32_t pid; uint32_t uid; int32_t status; int32_t pad; int64_t utime, stime; } chld;
        struct { uint64_t addr; } fault;  // SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP
        uint8_t raw[112];
    };
};
static_assert(sizeof(KSigInfo) == 128);

// rt_sigaction's struct on x86-64 (handler, flags, restorer, mask).
struct KSigAction {
    uint64_t handler, flags, restorer, mask;
};

// The handlers of a process: shared by threads created with CLONE_SIGHAND,
// copied by fork (signals_fork).
struct SigHand {
    uint32_t refs;
    KSigAction action[kNSig];
};

// A pending set with the siginfo of each queued instance, oldest first.
// Standard signals (1..31) are queued once; real-time signals queue every
// instance up to kSigQueueMax (then sigqueue says EAGAIN).
inline constexpr int kSigQueueMax = 16;
struct SigPending {
    uint64_t set;
    uint32_t n;
    KSigInfo queue[kSigQueueMax];
};

// A task's part (Task::sig); Task::sigmask is its blocked mask.
struct TaskSignals {
    SigPending pending;       // tkill/tgkill and synchronous faults
    uint64_t saved_mask;      // rt_sigsuspend/ppoll/pselect: the mask to restore
    bool restore_mask;        // ... after the next delivery (or at once without one)
    bool kernel_only;         // kernel threads: never receive signals
    volatile bool kick;       // a signal came while running: the next sched_block returns at once
    uint64_t ss_sp, ss_size;  // sigaltstack
    uint32_t ss_flags;        // SS_DISABLE or 0 (SS_ONSTACK is computed)
};

// A process's part (Process::sig).
struct ProcTimers;
struct ProcSignals {
    SigHand* hand;
    SigPending shared;  // kill(), process-directed timers, SIGCHLD
    ProcTimers* timers; // alarm/setitimer/timer_create (time/timers.cpp), null until used
};

}  // namespace lightvm::guest
