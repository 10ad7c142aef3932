#include "kernel/proc/process.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/kstack.hpp"
#include "kernel/mm/slab.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

extern "C" void lvm_fork_child();  // arch/x86_64/switch.S

namespace lightvm::guest {

namespace {

// Slot per live process; a scan over at most kMaxProcs pointers is the
// lookup (kill, wait4 and /proc are rare next to everything else).
Process* g_procs[kMaxProcs];
uint32_t g_count;
Process* g_first;
uint32_t g_last_pid;
constexpr uint32_t kPidMax = 4194304;  // /proc/sys/kernel/pid_max on 64-bit Linux

SlabCache g_process_cache = slab_for<Process>();
SlabCache g_task_cache = slab_for<Task>();

bool register_process(Process* p) {
    for (auto& slot : g_procs) {
        if (!slot) {
            slot = p;
            g_count++;
            return true;
        }
    }
    return false;
}

bool pid_used(uint32_t pid) {
    // Process groups and sessions keep their ids reserved, as Linux does;
    // threads take their ids from the same space.
    for (Process* p : g_procs)
        if (p && (p->pid == pid || p->pgid == pid || p->sid == pid))
            return true;
    struct Probe {
        uint32_t pid;
        bool used;
    } probe{pid, false};
    task_for_each(
        [](Task* t, void* arg) {
            auto* pr = static_cast<Probe*>(arg);
            pr->used |= t->tid == pr->pid;
        },
        &probe);
    return probe.used;
}

// Linux hands out pids in increasing order and wraps at pid_max.
uint32_t next_pid() {
    for (uint32_t tries = 0; tries < kPidMax; ++tries) {
        g_last_pid = g_last_pid + 1 >= kPidMax ? 2 : g_last_pid + 1;
        if (!pid_used(g_last_pid))
            return g_last_pid;
    }
    return 0;
}

}  // namespace

void process_table_init(Process* first) {
    g_first = first;
    g_last_pid = first->pid;
    register_process(first);
}

Process* process_find(uint32_t pid) {
    for (Process* p : g_procs)
        if (p && p->pid == pid)
            return p;
    return nullptr;
}

Process* process_first() { return g_first; }

Process* process_next(Process* prev) {
    uint32_t i = 0;
    if (prev)
        while (i < kMaxProcs && g_procs[i++] != prev) {
        }
    for (; i < kMaxProcs; ++i)
        if (g_procs[i])
            return g_procs[i];
    return nullptr;
}

uint32_t process_count() { return g_count; }

uint32_t process_limit() {
    uint32_t n = boot().max_procs;
    return n == 0 ? abi::kDefaultPids : n < kMaxProcs ? n : kMaxProcs;
}

Process* process_nth(uint32_t n) {
    for (Process* p : g_procs)
        if (p && n-- == 0)
            return p;
    return nullptr;
}

// RLIMIT_NPROC as Linux applies it: processes of the caller's real uid,
// root exempt (it has CAP_SYS_RESOURCE).
bool over_nproc_limit() {
    const Process* cur = current_process();
    if (!cur || cur->cred.uid == 0)
        return false;
    uint64_t n = 0;
    for (const Process* p : g_procs)
        n += p && p->cred.uid == cur->cred.uid;
    return n >= cur->rlimit[RLIMIT_NPROC][0];
}
uint32_t process_last_pid() { return g_last_pid; }

uint32_t pid_alloc() { return next_pid(); }

Process* process_alloc() {
    if (g_count >= process_limit() || over_nproc_limit())
        return nullptr;
    auto* p = static_cast<Process*>(slab_alloc(g_process_cache));
    if (!p)
        return nullptr;
    p->pid = next_pid();
    if (!p->pid || !register_process(p)) {
        slab_free(g_process_cache, p);
        return nullptr;
    }
    return p;
}

void process_free(Process* p) {
    for (auto& slot : g_procs) {
        if (slot == p) {
            slot = nullptr;
            g_count--;
        }
    }
    slab_free(g_process_cache, p);
}

void process_adopt(Process* parent, Process* child) {
    child->parent = parent;
    child->ppid = parent->pid;
    child->sibling = parent->children;
    parent->children = child;
}

void process_unlink(Process* p) {
    if (!p->parent)
        return;
    for (Process** c = &p->parent->children; *c; c = &(*c)->sibling) {
        if (*c == p) {
            *c = p->sibling;
            break;
        }
    }
    p->parent = nullptr;
    p->sibling = nullptr;
}

Task* task_alloc() { return static_cast<Task*>(slab_alloc(g_task_cache)); }
void task_free(Task* t) { slab_free(g_task_cache, t); }

void task_start_from_frame(Task* t) {
    auto* frame = reinterpret_cast<SyscallFrame*>(t->kstack.top - sizeof(SyscallFrame));
    auto* sw = reinterpret_cast<uint64_t*>(frame) - 7;  // r15 r14 r13 r12 rbx rbp, return address
    for (int i = 0; i < 6; ++i)
        sw[i] = 0;
    sw[6] = reinterpret_cast<uint64_t>(lvm_fork_child);
    t->ksp = reinterpret_cast<uint64_t>(sw);
}

Task* task_with_kstack() {
    Task* t = task_alloc();
    if (!t)
        return nullptr;
    t->kstack = kstack_alloc();
    if (!t->kstack.top) {
        task_free(t);
        return nullptr;
    }
    return t;
}

}  // namespace lightvm::guest
