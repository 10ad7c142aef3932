#include "kernel/dev/stdin_wait.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint16_t kReadable = POLLIN | POLLHUP | POLLERR;

WaitQueue g_queue;
// What the host last said, valid while g_known and of this clone
// generation (a VM restored from a snapshot has another stdin).
uint16_t g_revents;
bool g_known;
bool g_watched;  // somebody polled stdin: refreshes of host sockets include it
uint32_t g_generation;

uint32_t generation() { return *static_cast<volatile uint32_t*>(&boot().clone_generation); }
bool known() { return g_known && g_generation == generation(); }

// POLLNVAL (no host stdin) reads as readable: the read reports what is wrong.
uint16_t normalise(uint16_t r) { return (r & POLLNVAL) ? POLLIN : static_cast<uint16_t>(r & kReadable); }

void ask_host() {
    static abi::NetPollEntry entry;
    entry = {abi::kNetPollStdin, POLLIN, 0};
    volatile abi::HcNet& hc = this_cpu().hc_net;
    abi::HcNet r{};
    r.op = abi::kNetPoll;
    r.buf = kernel_to_gpa(&entry);
    r.len = 1;
    memcpy(const_cast<abi::HcNet*>(&hc), &r, sizeof r);
    hypercall(abi::kHcNet, &hc);
    stdin_polled(entry.revents);
}

}  // namespace

int stdin_revents() {
    g_watched = true;
    if (!known())
        ask_host();
    return g_revents;
}

void stdin_consumed() { g_known = false; }

WaitQueue& stdin_queue() { return g_queue; }

long stdin_wait_readable(bool nonblock) {
    if (stdin_revents() & kReadable)
        return 0;
    if (nonblock)
        return -err::kAgain;
    auto r = wait_event_interruptible(g_queue, [] { return (stdin_revents() & kReadable) != 0; });
    return r == WaitResult::Interrupted ? -ERESTARTSYS : 0;
}

bool stdin_watch(bool all, uint16_t* events) {
    if (!g_watched || (known() && (g_revents & kReadable)))
        return false;  // nobody asked, or a read will not wait: nothing to learn
    if (!all && wait_queue_empty(g_queue))
        return false;
    *events = POLLIN;
    return true;
}

bool stdin_polled(uint16_t revents) {
    const uint16_t now = normalise(revents);
    const bool became = (now & kReadable) && (!known() || now != g_revents);
    g_revents = now;
    g_known = true;
    g_generation = generation();
    if (became)
        wake_up(g_queue);
    return became;
}

}  // namespace lightvm::guest
