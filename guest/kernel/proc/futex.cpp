#include "kernel/proc/futex.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

struct Key {
    const AddressSpace* mm;  // nullptr: `addr` is a guest-physical address (shared mapping)
    uint64_t addr;
    bool operator==(const Key& o) const { return mm == o.mm && addr == o.addr; }
};

// A sleeping task, on its own kernel stack, in its bucket's list. One vCPU
// and no preemption inside the kernel: the word check and the enqueue are
// one step for every other task (the SMP work adds a bucket lock).
struct Waiter {
    Key key;
    uint32_t bitset;
    Task* task;
    bool woken;
    Waiter* next;
};

constexpr unsigned kBuckets = 64;
Waiter* g_buckets[kBuckets];

unsigned bucket(const Key& k) {
    uint64_t h = (k.addr >> 2) ^ (reinterpret_cast<uint64_t>(k.mm) >> 4);
    h ^= h >> 17;
    return static_cast<unsigned>(h % kBuckets);
}

long make_key(uint64_t uaddr, bool private_op, Key* out) {
    if (uaddr & 3)
        return -err::kInval;
    AddressSpace& as = *current_process()->mm;
    if (private_op) {
        *out = {&as, uaddr};
        return 0;
    }
    Vma* v = vma_find(as, uaddr);
    if (!v)
        return -err::kFault;
    if (!(v->flags & kVmShared)) {
        *out = {&as, uaddr};
        return 0;
    }
    uint64_t gpa;
    if (as_prepare(as, uaddr, 4, false) < 0 || !as_translate(as, uaddr, &gpa))
        return -err::kFault;
    *out = {nullptr, gpa};
    return 0;
}

void enqueue(Waiter& w) {
    Waiter** head = &g_buckets[bucket(w.key)];
    w.next = *head;
    *head = &w;
}

void dequeue(Waiter& w) {
    for (Waiter** p = &g_buckets[bucket(w.key)]; *p; p = &(*p)->next) {
        if (*p == &w) {
            *p = w.next;
            return;
        }
    }
}

// Wakes up to n waiters on key whose bitset meets `bitset`.
long wake(const Key& key, uint32_t n, uint32_t bitset) {
    long woken = 0;
    for (Waiter** p = &g_buckets[bucket(key)]; *p && static_cast<uint32_t>(woken) < n;) {
        Waiter* w = *p;
        if (w->key == key && (w->bitset & bitset)) {
            *p = w->next;
            w->woken = true;
            sched_wake(w->task);
            woken++;
        } else {
            p = &w->next;
        }
    }
    return woken;
}

// Moves up to n waiters from `from` to `to` (FUTEX_REQUEUE).
long requeue(const Key& from, const Key& to, uint32_t n) {
    long moved = 0;
    for (Waiter** p = &g_buckets[bucket(from)]; *p && static_cast<uint32_t>(moved) < n;) {
        Waiter* w = *p;
        if (w->key == from) {
            *p = w->next;
            w->key = to;
            enqueue(*w);
            moved++;
        } else {
            p = &w->next;
        }
    }
    return moved;
}

// The monotonic deadline of a timeout: relative (FUTEX_WAIT) or absolute
// on CLOCK_MONOTONIC or, with FUTEX_CLOCK_REALTIME, CLOCK_REALTIME.
long deadline_of(uint64_t utime, bool absolute, bool realtime, uint64_t* out) {
    *out = 0;
    if (!utime)
        return 0;
    struct __kernel_timespec ts;
    if (copy_from_user(&ts, utime, sizeof ts) < 0)
        return -err::kFault;
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return -err::kInval;
    uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
    uint64_t now = monotonic_ns();
    if (!absolute)
        *out = now + ns;
    else if (realtime)
        *out = ns > realtime_ns() ? now + (ns - realtime_ns()) : now;
    else
        *out = ns;
    if (!*out)
        *out = 1;  // "already expired", not "no deadline"
    return 0;
}

long wait(uint64_t uaddr, uint32_t val, uint64_t deadline, uint32_t bitset, bool private_op) {
    if (!bitset)
        return -err::kInval;
    Key key;
    if (long r = make_key(uaddr, private_op, &key); r < 0)
        return r;
    uint32_t word;
    if (UserPtr<uint32_t>(uaddr).read(word) < 0)
        return -err::kFault;
    if (word != val)
        return -err::kAgain;
    Waiter w{key, bitset, current(), false, nullptr};
    enqueue(w);
    while (!w.woken) {
        if (deadline && deadline_passed(deadline))
            break;
        if (signal_pending(current()))
            break;
        sched_block(deadline);
    }
    if (w.woken)
        return 0;
    dequeue(w);
    if (deadline && deadline_passed(deadline))
        return -err::kTimedOut;
    return deadline ? -err::kIntr : -ERESTARTSYS;  // Linux restarts an untimed wait
}

// FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg); wake n on uaddr, and n2 on
// uaddr2 if the old value passes the comparison.
long wake_op(uint64_t uaddr, uint32_t n, uint64_t uaddr2, uint32_t n2, uint32_t encoded, bool private_op) {
    Key k1, k2;
    if (long r = make_key(uaddr, private_op, &k1); r < 0)
        return r;
    if (long r = make_key(uaddr2, private_op, &k2); r < 0)
        return r;
    uint32_t op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
    uint32_t oparg = (encoded >> 12) & 0xfff, cmparg = encoded & 0xfff;
    if (encoded & (FUTEX_OP_OPARG_SHIFT << 28))
        oparg = oparg < 32 ? 1u << oparg : 0;
    uint32_t old;
    if (UserPtr<uint32_t>(uaddr2).read(old) < 0)
        return -err::kFault;
    uint32_t next;
    switch (op) {
    case FUTEX_OP_SET: next = oparg; break;
    case FUTEX_OP_ADD: next = old + oparg; break;
    case FUTEX_OP_OR: next = old | oparg; break;
    case FUTEX_OP_ANDN: next = old & ~oparg; break;
    case FUTEX_OP_XOR: next = old ^ oparg; break;
    default: return -err::kNoSys;
    }
    if (UserPtr<uint32_t>(uaddr2).write(next) < 0)
        return -err::kFault;
    // The comparison is on signed 12-bit-extended values, as Linux.
    int32_t o = static_cast<int32_t>(old), c = static_cast<int32_t>(cmparg << 20) >> 20;
    bool hit;
    switch (cmp) {
    case FUTEX_OP_CMP_EQ: hit = o == c; break;
    case FUTEX_OP_CMP_NE: hit = o != c; break;
    case FUTEX_OP_CMP_LT: hit = o < c; break;
    case FUTEX_OP_CMP_LE: hit = o <= c; break;
    case FUTEX_OP_CMP_GT: hit = o > c; break;
    case FUTEX_OP_CMP_GE: hit = o >= c; break;
    default: return -err::kNoSys;
    }
    long woken = wake(k1, n, FUTEX_BITSET_MATCH_ANY);
    if (hit)
        woken += wake(k2, n2, FUTEX_BITSET_MATCH_ANY);
    return woken;
}

long do_requeue(uint64_t uaddr, uint32_t n_wake, uint32_t n_move, uint64_t uaddr2, const uint32_t* cmp, bool priv) {
    Key k1, k2;
    if (long r = make_key(uaddr, priv, &k1); r < 0)
        return r;
    if (long r = make_key(uaddr2, priv, &k2); r < 0)
        return r;
    if (cmp) {
        uint32_t word;
        if (UserPtr<uint32_t>(uaddr).read(word) < 0)
            return -err::kFault;
        if (word != *cmp)
            return -err::kAgain;
    }
    long woken = wake(k1, n_wake, FUTEX_BITSET_MATCH_ANY);
    return woken + requeue(k1, k2, n_move);
}

}  // namespace

long futex_wake(uint64_t uaddr, uint32_t n) {
    Key key;
    if (make_key(uaddr, false, &key) < 0)
        return 0;
    return wake(key, n, FUTEX_BITSET_MATCH_ANY);
}

namespace {

// One held lock of a dying thread (the robust-futex ABI,
// Documentation/locking/robust-futex-ABI.rst): if the word names tid as
// its owner, mark it FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wake a
// waiter, whose lock then returns EOWNERDEAD.
void owner_died(uint64_t entry, int64_t offset, uint32_t tid, bool pending) {
    const uint64_t uaddr = entry + static_cast<uint64_t>(offset);
    uint32_t word;
    if ((uaddr & 3) || UserPtr<uint32_t>(uaddr).read(word) < 0)
        return;
    if ((word & FUTEX_TID_MASK) != tid) {
        // An unlock was under way (list_op_pending) and got as far as
        // zeroing the word: a waiter may still need its wake-up.
        if (pending && word == 0)
            futex_wake(uaddr, 1);
        return;
    }
    const uint32_t died = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (UserPtr<uint32_t>(uaddr).write(died) < 0)
        return;
    if (word & FUTEX_WAITERS)
        futex_wake(uaddr, 1);
}

}  // namespace

void futex_exit_robust(Task* t) {
    const uint64_t head = t->robust_list;
    t->robust_list = 0;
    struct {
        uint64_t next;
        int64_t futex_offset;
        uint64_t list_op_pending;
    } h;
    if (!head || copy_from_user(&h, head, sizeof h) < 0)
        return;
    const uint64_t pending = h.list_op_pending & ~1ull;
    uint64_t entry = h.next;
    // Linux's ROBUST_LIST_LIMIT: a corrupt or circular list ends here.
    for (int n = 0; n < 2048 && (entry & ~1ull) != head; ++n) {
        const uint64_t e = entry & ~1ull;  // bit 0: a PI futex (no PI here: treated alike)
        if (!e || UserPtr<uint64_t>(e).read(entry) < 0)
            return;
        if (e != pending)
            owner_died(e, h.futex_offset, t->tid, false);
    }
    if (pending)
        owner_died(pending, h.futex_offset, t->tid, true);
}

// futex(uaddr, op, val, timeout | val2, uaddr2, val3)
long sys_futex(const SyscallArgs& a) {
    const uint32_t op = static_cast<uint32_t>(a.a1);
    const bool priv = op & FUTEX_PRIVATE_FLAG;
    const bool realtime = op & FUTEX_CLOCK_REALTIME;
    const uint32_t val = static_cast<uint32_t>(a.a2), val3 = static_cast<uint32_t>(a.a5);
    const uint32_t cmd = op & FUTEX_CMD_MASK;
    if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT)
        return -err::kNoSys;
    uint64_t deadline = 0;
    switch (cmd) {
    case FUTEX_WAIT:
        if (long r = deadline_of(a.a3, false, false, &deadline); r < 0)
            return r;
        return wait(a.a0, val, deadline, FUTEX_BITSET_MATCH_ANY, priv);
    case FUTEX_WAIT_BITSET:
        if (long r = deadline_of(a.a3, true, realtime, &deadline); r < 0)
            return r;
        return wait(a.a0, val, deadline, val3, priv);
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
        Key key;
        if (long r = make_key(a.a0, priv, &key); r < 0)
            return r;
        uint32_t bits = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
        return bits ? wake(key, val, bits) : -err::kInval;
    }
    case FUTEX_REQUEUE:
        return do_requeue(a.a0, val, static_cast<uint32_t>(a.a3), a.a4, nullptr, priv);
    case FUTEX_CMP_REQUEUE:
        return do_requeue(a.a0, val, static_cast<uint32_t>(a.a3), a.a4, &val3, priv);
    case FUTEX_WAKE_OP:
        return wake_op(a.a0, val, a.a4, static_cast<uint32_t>(a.a3), val3, priv);
    default:
        return -err::kNoSys;  // the PI family: glibc copes (PTHREAD_PRIO_INHERIT mutexes only)
    }
}

long sys_set_robust_list(const SyscallArgs& a) {
    if (a.a1 != 24)  // sizeof(struct robust_list_head)
        return -err::kInval;
    current()->robust_list = a.a0;
    return 0;
}

long sys_get_robust_list(const SyscallArgs& a) {
    if (a.a0 != 0 && static_cast<int32_t>(a.a0) != static_cast<int32_t>(current()->tid))
        return -err::kPerm;  // only the caller's own, here
    if (UserPtr<uint64_t>(a.a1).write(current()->robust_list) < 0 || UserPtr<uint64_t>(a.a2).write(24) < 0)
        return -err::kFault;
    return 0;
}

}  // namespace lightvm::guest
