// Kernel objects for what runs in the VM. A Task is a thread of execution
// (registers live on its kernel stack while it is in the kernel); a Process
// owns what its threads share: the address space, the fd table, the
// filesystem context, credentials and limits. Everything that was a
// file-scope global "of the one program" is reached through current(), so
// fork (a new Process), exec (a new AddressSpace) and threads (Tasks that
// share one Process) can be added without hunting globals.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/cpu.hpp"
#include "kernel/proc/cputime_types.hpp"
#include "kernel/proc/rusage_types.hpp"
#include "kernel/mm/kstack.hpp"
#include "kernel/proc/signal_types.hpp"
#include "kernel/proc/wait_queue.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

struct AddressSpace;
struct FdTable;
struct OpenFile;

// Where relative paths start and what new files are created with (shared
// between threads, copied by fork: Linux's fs_struct).
struct FsContext {
    uint32_t users;  // processes sharing it (CLONE_FS)
    char cwd[abi::kMaxPath];
    size_t cwd_len;
    unsigned umask;
    char root[abi::kMaxPath];  // chroot (fs/vfs.cpp): absolute paths start here; root_len <= 1: "/"
    size_t root_len;
};

// Who the process is (man 7 credentials). Inside the VM only: files in
// shares are accessed with the monitor's own identity on the host.
inline constexpr uint32_t kMaxGroups = 32;
struct Credentials {
    uint32_t uid, gid, euid, egid;
    uint32_t suid, sgid, fsuid, fsgid;
    uint32_t ngroups;
    uint32_t groups[kMaxGroups];
};

inline constexpr unsigned kRlimits = 16;  // RLIM_NLIMITS

// Attributes a process may read and set that do not (yet) change what the
// kernel does: kept so programs get back what they set (proc/sys_sched.cpp,
// prctl in proc/sys_process.cpp). Zero-initialised is Linux's default.
struct ProcAttrs {
    int32_t nice;             // getpriority/setpriority
    uint16_t ioprio;          // ioprio_get/ioprio_set (0: IOPRIO_CLASS_NONE)
    uint8_t policy;           // SCHED_OTHER
    uint8_t rt_priority;      // sched_param for SCHED_FIFO/RR
    uint32_t personality;     // PER_LINUX
    uint32_t pdeathsig;       // PR_SET_PDEATHSIG
    uint64_t timerslack_ns;   // PR_SET_TIMERSLACK (0: the default, 50 us)
    bool no_new_privs;        // PR_SET_NO_NEW_PRIVS (sticky)
    bool keepcaps;            // PR_SET_KEEPCAPS
    bool child_subreaper;     // PR_SET_CHILD_SUBREAPER
    bool not_dumpable;        // PR_SET_DUMPABLE 0
    // Capabilities (proc/sys_caps.cpp): root starts with every one effective
    // and permitted, none inheritable; capset can only give them up.
    uint64_t cap_eff_dropped, cap_prm_dropped;
    uint64_t cap_inheritable;
};

enum class ProcState : uint8_t { Alive, Zombie };

struct Task;

struct Process {
    uint32_t pid, ppid, pgid, sid;
    bool ctty_gone;  // gave up its session's controlling terminal (TIOCNOTTY, tty/ctty.hpp)
    AddressSpace* mm;
    FdTable* files;
    FsContext* fs;
    Credentials cred;
    uint64_t rlimit[kRlimits][2];  // soft, hard
    ProcAttrs attrs;
    ProcSignals sig;  // handlers, process-directed pending signals, timers (proc/signal.hpp)
    // The process tree (proc/process.cpp): parent, first child, next sibling.
    Process* parent;
    Process* children;
    Process* sibling;
    Task* task;               // a live thread of it (the first, until it exits)
    uint32_t nthreads;        // live tasks in this thread group
    // exit_group (or a fatal signal) with several threads: the others are
    // sent SIGKILL and the last one out ends the process with this status.
    bool group_exit;
    int group_wait_status;
    Task* exec_waiter;        // execve from a thread: waits until it is the only one
    ProcState state;
    // Job control (proc/jobctl.cpp): stopped by SIGSTOP/SIGTSTP/SIGTTIN/
    // SIGTTOU until SIGCONT or SIGKILL; the change not yet waited for.
    bool stopped;
    uint8_t stop_sig;
    uint8_t job_report;       // JobReport (proc/jobctl.hpp)
    bool job_notify;          // a continue's SIGCHLD and wake-up still to send (deferred)
    int wait_status;          // a zombie's status word for wait4 (W_EXITCODE / signal)
    uint32_t exit_signal;     // sent to the parent at exit (SIGCHLD, or clone's low byte)
    WaitQueue child_wait;     // a child of this process changed state
    uint64_t start_ns;        // monotonic time of fork (for /proc/PID/stat)
    // What /proc/self/exe names: the file execve ran (a reference) and its
    // path; nullptr and "" for the program the VM booted (the boot image,
    // BootInfo.exe_path). Paths of 256 bytes or more are cut for readlink.
    OpenFile* exe;
    char exe_path[256];
    ProcCpuTime cpu;          // its CPU time at exit, its reaped children's (proc/cputime.hpp)
    ProcUsage usage;          // faults, context switches, peak RSS likewise (proc/rusage.hpp)
    char exit_comm[16];       // its name at exit: /proc/PID of the zombie (whose task is gone)
    uint32_t exec_id;         // started by the host (exec/spawn.cpp): its status goes there; 0: not
};

enum class TaskState : uint8_t { Running, Blocked, Dead };

struct Task {
    uint32_t tid;
    TaskState state;
    Process* process;
    KernelStack kstack;
    uint64_t ksp;               // kernel RSP while switched out (arch/x86_64/switch.S)
    uint64_t deadline_ns;       // blocked until this monotonic time (0: none)
    uint64_t slice_start_ns;    // when it last got the CPU (the time slice, proc/sched.cpp)
    uint64_t fs_base, gs_base;  // the user's TLS registers (restored on switch)
    uint64_t sigmask;  // blocked signals
    TaskSignals sig;   // thread-directed pending signals, sigsuspend's mask, altstack
    char comm[16];  // prctl(PR_SET_NAME), /proc/self/comm
    CpuTime cpu;    // user and system time (proc/cputime.hpp)
    TaskUsage usage;  // faults and context switches (proc/rusage.hpp)
    uint64_t clear_child_tid;  // CLONE_CHILD_CLEARTID / set_tid_address: zeroed and woken at exit
    uint64_t set_child_tid;    // CLONE_CHILD_SETTID: written when the child first runs
    Task* vfork_parent;        // CLONE_VFORK: blocked until this task execs or exits
    uint64_t robust_list;      // set_robust_list: kept for get_robust_list
    bool vfork_done;
    void* spawn;               // a host exec request its first code runs (exec/spawn.cpp), then nullptr
    bool user;                 // returns to user mode (not a kernel thread)
    // The CPU whose context this task is (its number + 1; 0: none): it runs
    // there, or idles there on its stack. No other CPU may switch to it.
    volatile uint8_t on_cpu;
    // The user's x87/SSE state while another task runs (the kernel itself
    // never touches it: -mgeneral-regs-only); proc/sigframe.cpp fpu_*.
    bool fpu_valid;
    alignas(16) uint8_t fpu[512];
};

inline Task* current() { return this_cpu().current; }
inline Process* current_process() { return this_cpu().current->process; }

// Builds the first task and process on the boot kernel stack and makes it
// current; proc_init_workload gives them the workload's pid, ids and limits
// (the boot page's) once it is known.
void proc_init();
void proc_init_workload();
// The first process's ids: root, or --user's (BootInfo.user_*).
void creds_boot(Credentials& c);
// The first process's filesystem context (static, like its fd table).
FsContext* fs_context_boot();

}  // namespace lightvm::guest
