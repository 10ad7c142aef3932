#include "monitor/vm_migrate.hpp"

#include <pthread.h>
#include <sys/socket.h>

#include <bit>
#include <csignal>
#include <cstring>

#include "migration/wire.hpp"
#include "monitor/vm_snapshot.hpp"

namespace lightvm {

namespace {

constexpr uint64_t kPage = abi::kPageSize;
// Stop-and-copy once a round leaves at most this many dirty pages (2 MiB:
// ~1 ms on loopback, docs/migration.md), or after kMaxRounds, or when the
// guest dirties as fast as we send (kStallRounds rounds without shrinking).
constexpr uint64_t kFinalPages = 512;
constexpr uint32_t kMaxRounds = 30;
constexpr uint32_t kStallRounds = 4;

uint64_t count(const std::vector<uint64_t>& bits) {
    uint64_t n = 0;
    for (uint64_t w : bits)
        n += static_cast<uint64_t>(std::popcount(w));
    return n;
}

void set_range(std::vector<uint64_t>& bits, uint64_t first, uint64_t n) {
    for (uint64_t p = first; p < first + n && p / 64 < bits.size(); ++p)
        bits[p / 64] |= uint64_t{1} << (p % 64);
}

bool test(const std::vector<uint64_t>& bits, uint64_t p) {
    return p / 64 < bits.size() && (bits[p / 64] >> (p % 64) & 1);
}

// Turns every registered memslot's dirty log on or off; slots registered
// later follow s.log_dirty (shell.cpp).
Result<void> log_dirty(VmState& s, bool on) {
    s.log_dirty = on;
    for (const auto& r : s.ram->regions())
        TRY(s.vm.set_memory(r.slot, r.gpa, r.size, s.mem.host_base() + r.gpa, on));
    return {};
}

}  // namespace

Migration::Migration(VmState& s, int sock, std::function<void()> kick)
    : m_s(s), m_sock(sock), m_kick(std::move(kick)), m_pages(s.mem.size() / kPage) {}

Result<std::unique_ptr<Migration>> Migration::start(VmState& s, int sock, std::function<void()> kick) {
    std::unique_ptr<Migration> m(new Migration(s, sock, std::move(kick)));
    // Marks and logs first, then the first pass's ranges: a page written
    // after this point is either in the pass or in a later round.
    s.mem.track_host_writes(true);
    if (auto on = log_dirty(s, true); !on) {
        (void)log_dirty(s, false);
        s.mem.track_host_writes(false);
        return tl::unexpected(on.error());
    }
    auto ranges = candidate_ranges(s);
    if (!ranges) {
        (void)log_dirty(s, false);
        s.mem.track_host_writes(false);
        return tl::unexpected(ranges.error());
    }
    m->m_started_ns = monotonic_ns();
    // The sender takes no signals: the kick, the stop and lightvmd's
    // requests are the vCPU thread's.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->m_thread = std::thread(&Migration::sender_main, m.get(), std::move(*ranges));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return m;
}

Migration::~Migration() {
    stop_sender();
    if (m_s.log_dirty)
        (void)log_dirty(m_s, false);
    m_s.mem.track_host_writes(false);
}

void Migration::stop_sender() {
    if (!m_thread.joinable())
        return;
    {
        std::lock_guard lock(m_mu);
        m_abort = true;
    }
    m_cv.notify_all();
    // A send blocked on a slow peer returns at once.
    ::shutdown(m_sock, SHUT_RDWR);
    m_thread.join();
}

bool Migration::due() {
    std::lock_guard lock(m_mu);
    return m_want_collect || m_want_final || m_failed;
}

void Migration::sender_main(std::vector<GuestMemory::Range> first_pass) {
    auto sent = precopy(first_pass);
    {
        std::lock_guard lock(m_mu);
        if (!sent) {
            m_failed = true;
            m_error = sent.error().to_string();
        } else {
            m_want_final = true;
        }
    }
    m_kick();
}

Result<void> Migration::precopy(const std::vector<GuestMemory::Range>& first_pass) {
    Bitmap pages((m_pages + 63) / 64, 0);
    for (const auto& r : first_pass)
        set_range(pages, r.gpa / kPage, r.len / kPage);
    TRY(send_pages(pages, true, m_report.bytes));
    uint64_t best = UINT64_MAX;
    uint32_t stalled = 0;
    for (uint32_t round = 1;; ++round) {
        Bitmap dirty = TRY(collect_from_vcpu());
        const uint64_t n = count(dirty);
        stalled = n < best ? 0 : stalled + 1;
        best = std::min(best, n);
        if (n <= kFinalPages || round >= kMaxRounds || stalled >= kStallRounds) {
            m_carry = std::move(dirty);  // sent while the guest is stopped
            return {};
        }
        TRY(send_pages(dirty, false, m_report.bytes));
        m_report.rounds = round;
    }
}

Result<Migration::Bitmap> Migration::collect_from_vcpu() {
    std::unique_lock lock(m_mu);
    m_want_collect = true;
    lock.unlock();
    m_kick();
    lock.lock();
    m_cv.wait(lock, [&] { return m_collected || m_abort; });
    if (m_abort)
        return make_error(ErrorKind::System, "migration", "stopped");
    m_collected = false;
    return std::move(m_dirty);
}

Result<Migration::Bitmap> Migration::collect(VmState& s) {
    Bitmap bits = s.mem.take_host_writes();
    bits.resize((m_pages + 63) / 64, 0);
    m_host_ever.resize(bits.size(), 0);
    for (size_t w = 0; w < bits.size(); ++w)
        m_host_ever[w] |= bits[w];
    std::vector<uint64_t> log;
    for (const auto& r : s.ram->regions()) {
        log.assign((r.size / kPage + 63) / 64, 0);
        TRY(s.vm.get_dirty_log(r.slot, log));
        const uint64_t first = r.gpa / kPage;
        for (size_t w = 0; w < log.size(); ++w)
            for (uint64_t word = log[w]; word; word &= word - 1)
                set_range(bits, first + w * 64 + static_cast<uint64_t>(std::countr_zero(word)), 1);
    }
    return bits;
}

// Runs of set pages, as Pages frames of at most kMaxPagesFrame bytes; a
// page that is all zero goes as a Zero frame (or, with skip_zero on the
// first pass, not at all: the target's memory file starts as holes).
// Reads guest RAM without span(): this may be the sender thread, and
// span() marks pages as the monitor's writes.
Result<void> Migration::send_pages(const Bitmap& pages, bool skip_zero, uint64_t& bytes) {
    const uint8_t* base = m_s.mem.host_base();
    const uint64_t per_frame = migration::kMaxPagesFrame / kPage;
    uint64_t p = 0;
    while (p < m_pages) {
        if (!test(pages, p)) {
            ++p;
            continue;
        }
        const bool zero = zero_page(base + p * kPage);
        uint64_t n = 1;
        while (p + n < m_pages && n < per_frame && test(pages, p + n) && zero_page(base + (p + n) * kPage) == zero)
            ++n;
        if (!zero) {
            TRY(migration::send_frame(m_sock, migration::Frame::Pages, p * kPage,
                                      std::span(base + p * kPage, n * kPage)));
            bytes += n * kPage;
        } else if (!skip_zero) {
            TRY(migration::send_zero(m_sock, p * kPage, n * kPage));
        }
        p += n;
        std::lock_guard lock(m_mu);
        if (m_abort)
            return make_error(ErrorKind::System, "migration", "stopped");
    }
    return {};
}

Migration::Step Migration::service(VmState& s, Interrupts& irq, Outcome& outcome, Smp* smp) {
    std::unique_lock lock(m_mu);
    if (m_failed) {
        std::string why = m_error;
        lock.unlock();
        return fail(s, Step::Failed, why);
    }
    if (m_want_final) {
        lock.unlock();
        return finish(s, irq, outcome, smp);
    }
    if (m_want_collect) {
        m_want_collect = false;
        lock.unlock();
        // Other vCPUs handle their exits under this lock: none is half way
        // through a device write while the marks are taken.
        std::unique_lock<std::mutex> exits;
        if (smp)
            exits = std::unique_lock(smp->exits());
        auto dirty = collect(s);
        if (exits)
            exits.unlock();
        if (!dirty)
            return fail(s, Step::Failed, dirty.error().to_string());
        lock.lock();
        m_dirty = std::move(*dirty);
        m_collected = true;
        lock.unlock();
        m_cv.notify_all();
    }
    return Step::Continue;
}

Migration::Step Migration::fail(VmState& s, Step step, std::string why) {
    stop_sender();
    if (s.log_dirty)
        (void)log_dirty(s, false);
    s.mem.track_host_writes(false);
    m_report.outcome = step == Step::Unknown ? MigrationReport::Outcome::Unknown : MigrationReport::Outcome::Failed;
    m_report.error = std::move(why);
    return step;
}

// The guest is stopped from here until the target runs it (the downtime):
// the last dirty pages, the state, then the hand-over.
Migration::Step Migration::finish(VmState& s, Interrupts& irq, Outcome& outcome, Smp* smp) {
    const uint64_t stopped = monotonic_ns();
    m_thread.join();
    Quiesced others(smp);  // every vCPU stopped until the hand-over is over
    if (auto quiet = others.begin(); !quiet)
        return fail(s, Step::Failed, quiet.error().to_string());
    m_report.precopy_ns = stopped - m_started_ns;
    auto dirty = collect(s);
    if (!dirty)
        return fail(s, Step::Failed, dirty.error().to_string());
    for (size_t w = 0; w < dirty->size(); ++w)
        (*dirty)[w] |= (w < m_carry.size() ? m_carry[w] : 0) | (w < m_host_ever.size() ? m_host_ever[w] : 0);
    uint64_t final_bytes = 0;
    if (auto sent = send_pages(*dirty, false, final_bytes); !sent)
        return fail(s, Step::Failed, sent.error().to_string());
    m_report.bytes += final_bytes;
    m_report.final_bytes = final_bytes;
    auto snap = capture_state(s, irq, outcome, smp);
    if (!snap)
        return fail(s, Step::Failed, snap.error().to_string());
    snap->mem_tag = boot_page_tag(s.mem);  // the target computes the extents
    const auto state = snapshot::encode(*snap);
    if (auto sent = migration::send_frame(m_sock, migration::Frame::State, 0, state); !sent)
        return fail(s, Step::Failed, sent.error().to_string());
    if (auto sent = migration::send_frame(m_sock, migration::Frame::End, 0, {}); !sent)
        return fail(s, Step::Failed, sent.error().to_string());
    if (auto ready = migration::expect_text(m_sock, migration::Frame::Ready, s.mem.size()); !ready)
        return fail(s, Step::Failed, "the target did not restore the VM: " + ready.error().message);
    // The commit point: from here the VM may run there, so never here again.
    if (auto go = migration::send_frame(m_sock, migration::Frame::Go, 0, {}); !go)
        return fail(s, Step::Failed, go.error().to_string());
    auto reply = migration::recv_header(m_sock, s.mem.size());
    auto text = reply ? migration::recv_text(m_sock, *reply) : tl::unexpected(reply.error());
    m_report.downtime_ns = monotonic_ns() - stopped;
    // An Error after Go: the target says the VM never ran there.
    if (text && reply->type == static_cast<uint32_t>(migration::Frame::Error))
        return fail(s, Step::Failed, "the target could not run the VM: " + *text);
    if (!text || reply->type != static_cast<uint32_t>(migration::Frame::Started))
        return fail(s, Step::Unknown,
                    "the target did not confirm the hand-over: " +
                        (text ? std::string("got a ") + migration::frame_name(reply->type) + " frame" : text.error().message));
    m_report.outcome = MigrationReport::Outcome::Migrated;
    m_report.target_reply = std::move(*text);
    if (smp)
        smp->finish();  // the other vCPUs end without running again here
    return Step::Migrated;
}

}  // namespace lightvm
