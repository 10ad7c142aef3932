#include "kernel/fs/fd_table.hpp"
#include "kernel/proc/jobctl.hpp"
#include "kernel/proc/preempt.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/signal_deliver.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// The first task and what it owns. Later tasks and processes come from
// the kernel allocator (fork, clone); these exist before it does.
Task g_init_task;
Process g_init_process;
FsContext g_init_fs;

static_assert(kRlimits == RLIM_NLIMITS);

void default_limits(Process& p) {
    for (auto& l : p.rlimit)
        l[0] = l[1] = RLIM_INFINITY;
    p.rlimit[RLIMIT_STACK][0] = abi::kStackSize;  // 8 MiB soft, no hard limit: Linux's defaults
    p.rlimit[RLIMIT_STACK][1] = RLIM_INFINITY;
    p.rlimit[RLIMIT_NOFILE][0] = kMaxFds;
    p.rlimit[RLIMIT_NOFILE][1] = 4096;
    p.rlimit[RLIMIT_NPROC][0] = p.rlimit[RLIMIT_NPROC][1] = process_limit();  // --pids
}

}  // namespace

FsContext* fs_context_boot() { return &g_init_fs; }

void proc_init() {
    Process& p = g_init_process;
    p.ppid = 0;
    p.mm = nullptr;  // memory_init makes it
    p.files = fd_table_boot();
    p.files->users = 1;
    p.fs = &g_init_fs;
    g_init_fs.users = 1;
    p.exit_signal = SIGCHLD;
    g_init_fs.cwd[0] = '/';
    g_init_fs.cwd_len = 1;
    g_init_fs.umask = 022;
    signals_init_process(p);
    signal_delivery_init();
    preempt_init();
    jobctl_init();

    Task& t = g_init_task;
    t.state = TaskState::Running;
    t.process = &p;
    t.sig.ss_flags = SS_DISABLE;
    t.kstack = kstack_boot();  // the stack lvm_start switched to
    memcpy(t.comm, "app", 4);

    t.user = true;
    p.task = &t;
    p.nthreads = 1;

    Cpu& cpu = this_cpu();
    cpu.current = &t;
    lvm_percpu[cpu.id].kstack_top = t.kstack.top;
    t.on_cpu = static_cast<uint8_t>(cpu.id + 1);
    sched_add_task(&t);
}

void proc_init_workload() {
    Process& p = g_init_process;
    p.pid = p.pgid = p.sid = boot().pid;
    g_init_task.tid = p.pid;
    default_limits(p);
    creds_boot(p.cred);
    if (p.cred.uid != 0)  // --user: a non-root process has no capabilities
        p.attrs.cap_eff_dropped = p.attrs.cap_prm_dropped = caps_all();
    process_table_init(&p);
    ctty_console_init(p.sid);
}

}  // namespace lightvm::guest
