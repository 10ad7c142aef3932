// epoll (man 7 epoll). An Epoll has an interest list of items, one per
// (file, fd) pair, and a ready list. Each item keeps a wait entry with a
// wake function on its file's wait queue for as long as it is in the list
// (proc/wait.hpp): whatever may change the file's readiness (a pipe write,
// an eventfd write, a timer expiry, a host socket's new poll state, an
// inner epoll getting ready) wakes that queue, the wake function puts the
// item on the ready list and wakes the epoll's own queue, where epoll_wait
// sleeps (and where poll/select on the epoll fd and outer epolls listen).
// epoll_wait then asks each ready item's file for its state with the same
// poll method poll/select use (file_poll): level-triggered items stay on
// the ready list while they are ready, edge-triggered ones leave it until
// their file's queue is woken again, EPOLLONESHOT items are disabled after
// one report until EPOLL_CTL_MOD. Files with no wait queue (the console,
// /dev/random) are always ready: they go on the ready list when added.
//
// An item lives until EPOLL_CTL_DEL or until the last reference to its
// file goes (file_put -> epoll_forget_file), as on Linux: closing one of
// two dup'ed fds leaves the item in place.
//
// For SMP: each Epoll gets a lock around its lists, taken by the wake
// function too (Linux's ep->lock); the item pool gets its own.
#include "kernel/event/epoll.hpp"

#include "kernel/errno.hpp"
#include "kernel/event/event_file.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/ktimer.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

struct Epoll;

struct EpItem {
    WaitEntry entry;       // on the file's wait queue, wake = item_wake
    Epoll* ep;
    OpenFile* file;
    int32_t fd;
    uint32_t events;       // as set, plus EPOLLERR|EPOLLHUP; no user bits left: disabled (ONESHOT)
    uint64_t data;
    EpItem* next;          // the epoll's interest list
    EpItem* next_watcher;  // the file's watchers (OpenFile::ep_watchers)
    EpItem* next_ready;
    EpItem* next_again;    // epoll_wait's list of reported level-triggered items
    bool ready;            // on the ready list
    bool used;
};

namespace {

struct EpollEvent {
    uint32_t events;
    uint64_t data;
} __attribute__((packed));
static_assert(sizeof(EpollEvent) == sizeof(epoll_event) && sizeof(EpollEvent) == 12);

// Linux's EP_PRIVATE_BITS and EPOLLEXCLUSIVE_OK_BITS.
constexpr uint32_t kPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
constexpr uint32_t kExclusiveOk = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND |
                                  EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
// Linux's EP_MAX_NESTS: how deep epoll fds may be nested in each other.
constexpr int kMaxNests = 4;

}  // namespace

struct Epoll {
    bool used;
    EpItem* items;
    EpItem* ready_head;
    EpItem* ready_tail;
    WaitQueue wq;  // epoll_wait sleepers, poll/select on the fd, outer epolls' items
};

namespace {

// Fixed pools, touched only when used. The items (416 KiB) are on pages
// from frames, each taken when a slot on it is first used, not in .bss:
// the kernel image has a size limit (abi.h kKernelLimit).
constexpr int kMaxEpolls = 64;
constexpr int kMaxItems = 4096;
Epoll g_epolls[kMaxEpolls];
KTable<EpItem, kMaxItems> g_items;

Epoll* epoll_of(OpenFile* f) { return static_cast<Epoll*>(f->event); }

void ready_push(Epoll* ep, EpItem* it) {
    if (it->ready)
        return;
    it->ready = true;
    it->next_ready = nullptr;
    if (ep->ready_tail)
        ep->ready_tail->next_ready = it;
    else
        ep->ready_head = it;
    ep->ready_tail = it;
}

void ready_remove(Epoll* ep, EpItem* it) {
    if (!it->ready)
        return;
    EpItem* prev = nullptr;
    for (EpItem* p = ep->ready_head; p; prev = p, p = p->next_ready) {
        if (p != it)
            continue;
        (prev ? prev->next_ready : ep->ready_head) = it->next_ready;
        if (ep->ready_tail == it)
            ep->ready_tail = prev;
        break;
    }
    it->ready = false;
}

bool disabled(const EpItem* it) { return (it->events & ~kPrivateBits) == 0; }

// The file's wait queue was woken: its readiness may have changed.
void item_wake(WaitEntry* e) {
    auto* it = reinterpret_cast<EpItem*>(reinterpret_cast<char*>(e) - offsetof(EpItem, entry));
    if (disabled(it))
        return;
    ready_push(it->ep, it);
    wake_up(it->ep->wq);
}

uint32_t item_revents(EpItem* it) { return static_cast<uint32_t>(file_poll(it->file)) & it->events; }

// Queues the item if its file is ready now (after ADD and MOD).
void check_now(EpItem* it) {
    if (!disabled(it) && item_revents(it)) {
        ready_push(it->ep, it);
        wake_up(it->ep->wq);
    }
}

void item_free(EpItem* it) {
    Epoll* ep = it->ep;
    wait_remove(it->entry);
    for (EpItem** p = &ep->items; *p; p = &(*p)->next) {
        if (*p == it) {
            *p = it->next;
            break;
        }
    }
    for (EpItem** p = &it->file->ep_watchers; *p; p = &(*p)->next_watcher) {
        if (*p == it) {
            *p = it->next_watcher;
            break;
        }
    }
    ready_remove(ep, it);
    it->used = false;
}

EpItem* find_item(Epoll* ep, OpenFile* f, int32_t fd) {
    for (EpItem* it = ep->items; it; it = it->next)
        if (it->file == f && it->fd == fd)
            return it;
    return nullptr;
}

// Would watching `target` from `ep` close a loop, or nest epolls deeper
// than Linux allows? (target is an epoll file.)
bool loops(const Epoll* ep, Epoll* target, int depth) {
    if (target == ep || depth >= kMaxNests)
        return true;
    for (EpItem* it = target->items; it; it = it->next)
        if (it->file->kind == FileKind::Epoll && loops(ep, epoll_of(it->file), depth + 1))
            return true;
    return false;
}

long item_add(Epoll* ep, OpenFile* f, int32_t fd, const EpollEvent& ev) {
    EpItem* it = nullptr;
    for (int i = 0; i < kMaxItems && !it; ++i) {
        EpItem* slot = g_items.get(i);
        if (!slot)
            return -err::kNoMem;
        if (!slot->used)
            it = slot;
    }
    if (!it)
        return -err::kNoSpc;  // Linux: the user's max_user_watches reached
    *it = EpItem{};
    it->used = true;
    it->ep = ep;
    it->file = f;
    it->fd = fd;
    it->events = ev.events | EPOLLERR | EPOLLHUP;
    it->data = ev.data;
    it->next = ep->items;
    ep->items = it;
    it->next_watcher = f->ep_watchers;
    f->ep_watchers = it;
    if (WaitQueue* q = file_wait_queue(f))
        wait_add_fn(*q, it->entry, item_wake);
    else
        ready_push(ep, it);  // never woken: always ready, reported by its poll state
    check_now(it);
    return 0;
}

long epoll_ctl(long epfd, int op, long fd, uint64_t event_addr) {
    EpollEvent ev{};
    bool has_event = op != EPOLL_CTL_DEL;
    if (has_event && copy_from_user(&ev, event_addr, sizeof ev) < 0)
        return -err::kFault;
    OpenFile* epf = fd_get(epfd);
    OpenFile* tf = fd_get(fd);
    if (!epf || !tf)
        return -err::kBadF;
    if (!file_can_poll(tf))
        return -err::kPerm;
    if (epf == tf || epf->kind != FileKind::Epoll)
        return -err::kInval;
    if (has_event && (ev.events & EPOLLEXCLUSIVE)) {
        if (op == EPOLL_CTL_MOD || tf->kind == FileKind::Epoll || (ev.events & ~kExclusiveOk))
            return -err::kInval;
    }
    Epoll* ep = epoll_of(epf);
    if (op == EPOLL_CTL_ADD && tf->kind == FileKind::Epoll && loops(ep, epoll_of(tf), 0))
        return -err::kLoop;
    EpItem* it = find_item(ep, tf, static_cast<int32_t>(fd));
    switch (op) {
    case EPOLL_CTL_ADD:
        return it ? -err::kExist : item_add(ep, tf, static_cast<int32_t>(fd), ev);
    case EPOLL_CTL_DEL:
        if (!it)
            return -err::kNoEnt;
        item_free(it);
        return 0;
    case EPOLL_CTL_MOD:
        if (!it)
            return -err::kNoEnt;
        if (it->events & EPOLLEXCLUSIVE)
            return -err::kInval;
        it->events = ev.events | EPOLLERR | EPOLLHUP;
        it->data = ev.data;
        check_now(it);
        return 0;
    default:
        return -err::kInval;
    }
}

// Reports up to max ready events into out (user memory): Linux's
// ep_send_events. Returns how many, or -EFAULT when not even the first
// could be written.
long harvest(Epoll* ep, uint64_t out, int max) {
    ktimer_poll();  // timers due now are ready now, even if nothing scheduled since
    EpItem* todo = ep->ready_head;
    ep->ready_head = ep->ready_tail = nullptr;
    EpItem* again = nullptr;  // level-triggered items reported: they stay ready
    EpItem** again_tail = &again;
    long n = 0;
    while (todo && n < max) {
        EpItem* it = todo;
        todo = it->next_ready;
        it->ready = false;
        uint32_t revents = item_revents(it);
        if (!revents)
            continue;
        const EpollEvent ev{revents, it->data};
        if (copy_to_user(out + static_cast<uint64_t>(n) * sizeof ev, &ev, sizeof ev) < 0) {
            ready_push(ep, it);
            if (!n)
                n = -err::kFault;
            break;
        }
        ++n;
        if (it->events & EPOLLONESHOT)
            it->events &= kPrivateBits;
        else if (!(it->events & EPOLLET)) {
            *again_tail = it;
            again_tail = &it->next_again;
            it->next_again = nullptr;
        }
    }
    // Not looked at (max reached) first, then anything woken meanwhile,
    // then the level-triggered ones just reported (fairness: others first).
    // (The first two are disjoint: `ready` says which list an item is on.)
    EpItem* woken = ep->ready_head;
    ep->ready_head = ep->ready_tail = nullptr;
    EpItem* lists[2] = {todo, woken};
    for (EpItem* head : lists) {
        while (head) {
            EpItem* next = head->next_ready;
            head->ready = false;
            ready_push(ep, head);
            head = next;
        }
    }
    for (EpItem* it = again; it; it = it->next_again)
        ready_push(ep, it);  // unless already back on it
    return n;
}

long epoll_wait(long epfd, uint64_t events, long maxevents, int64_t timeout_ns) {
    constexpr long kMaxEvents = INT32_MAX / static_cast<long>(sizeof(EpollEvent));
    if (maxevents <= 0 || maxevents > kMaxEvents)
        return -err::kInval;
    // Like Linux, the buffer is only checked when an event is written to it
    // (epoll_wait(ep, NULL, n, 0) with nothing ready is 0).
    OpenFile* f = fd_get(epfd);
    if (!f)
        return -err::kBadF;
    if (f->kind != FileKind::Epoll)
        return -err::kInval;
    Epoll* ep = epoll_of(f);
    int max = static_cast<int>(maxevents);
    uint64_t deadline = timeout_ns > 0 ? monotonic_ns() + static_cast<uint64_t>(timeout_ns) : 0;
    for (;;) {
        long n = harvest(ep, events, max);
        if (n)
            return n;
        if (timeout_ns == 0 || deadline_passed(deadline)) {
            // Host sockets' state as of now, not of their last call (poll does the same).
            return net_refresh() ? harvest(ep, events, max) : 0;
        }
        // A handler makes it EINTR, whatever SA_RESTART says (man 7
        // signal), as for poll.
        if (signal_pending(current()))
            return -ERESTARTNOHAND;
        // Nothing in the kernel wakes ep->wq between the harvest and the
        // block: one CPU, no preemption, wake functions do not run in
        // interrupt handlers (SMP: take ep's lock across both). A signal
        // sent by an interrupt handler wakes the task directly.
        WaitEntry e;
        wait_add(ep->wq, e, current());
        sched_block(deadline);
        wait_remove(e);
    }
}

int ep_poll(OpenFile* f) {
    Epoll* ep = epoll_of(f);
    ktimer_poll();
    for (EpItem* it = ep->ready_head; it; it = it->next_ready)
        if (item_revents(it))
            return POLLIN | POLLRDNORM;
    return 0;
}

WaitQueue* ep_queue(OpenFile* f) { return &epoll_of(f)->wq; }

long ep_release(OpenFile* f) {
    Epoll* ep = epoll_of(f);
    if (!ep)
        return 0;
    while (ep->items)
        item_free(ep->items);
    ep->used = false;
    return 0;
}

long make_epoll(uint64_t flags) {
    if (flags & ~uint64_t{EPOLL_CLOEXEC})
        return -err::kInval;
    file_set_unwatch(epoll_forget_file);
    Epoll* ep = nullptr;
    for (auto& slot : g_epolls)
        if (!slot.used && !ep)
            ep = &slot;
    if (!ep)
        return -err::kNFile;
    *ep = Epoll{};
    ep->used = true;
    long fd = event_install(FileKind::Epoll, ep, O_RDWR, flags & EPOLL_CLOEXEC);
    if (fd < 0)
        ep->used = false;
    return fd;
}

}  // namespace

void epoll_forget_file(OpenFile* f) {
    while (f->ep_watchers)
        item_free(f->ep_watchers);
}

const FileOps kEpollOps = {
    .read = nullptr,   // EINVAL
    .write = nullptr,  // EINVAL
    .seek = nullptr,
    .stat = anon_stat,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = ep_poll,
    .wait_queue = ep_queue,
    .release = ep_release,
    .tty = false,
    .seekable = false,
};

long sys_epoll_create(const SyscallArgs& a) {
    return static_cast<int32_t>(a.a0) <= 0 ? -err::kInval : make_epoll(0);
}
long sys_epoll_create1(const SyscallArgs& a) { return make_epoll(a.a0 & 0xffffffffu); }

long sys_epoll_ctl(const SyscallArgs& a) {
    return epoll_ctl(fd_arg(a.a0), static_cast<int32_t>(a.a1), fd_arg(a.a2), a.a3);
}

long sys_epoll_wait(const SyscallArgs& a) {
    auto ms = static_cast<int32_t>(a.a3);
    return epoll_wait(fd_arg(a.a0), a.a1, static_cast<int32_t>(a.a2), ms < 0 ? -1 : int64_t{ms} * 1000000);
}

// epoll_pwait/pwait2: the signal mask (a4, size a5) holds during the wait,
// as ppoll's does (proc/signal.hpp).
long sys_epoll_pwait(const SyscallArgs& a) {
    if (long r = signal_temp_mask(a.a4, a.a5); r < 0)
        return r;
    return signal_temp_mask_end(sys_epoll_wait(a));
}

long sys_epoll_pwait2(const SyscallArgs& a) {
    int64_t timeout = -1;
    if (a.a3) {
        __kernel_timespec ts;
        if (copy_from_user(&ts, a.a3, sizeof ts) < 0)
            return -err::kFault;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -err::kInval;
        timeout = ts.tv_sec > (INT64_MAX / 1000000000 - 1) ? INT64_MAX : ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    if (long r = signal_temp_mask(a.a4, a.a5); r < 0)
        return r;
    return signal_temp_mask_end(epoll_wait(fd_arg(a.a0), a.a1, static_cast<int32_t>(a.a2), timeout));
}

}  // namespace lightvm::guest
