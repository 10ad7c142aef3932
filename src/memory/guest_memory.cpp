#include "memory/guest_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <cstdio>
#include <utility>
#include <vector>

namespace lightvm {

// ---------------------------------------------------------------------------
// SIGBUS guard: a fixed table of live guest RAM ranges, read by the handler.
// ---------------------------------------------------------------------------
namespace {

struct GuardSlot {
    std::atomic<uintptr_t> base{0};
    std::atomic<uint64_t> size{0};
    std::atomic<bool> lost{false};
};
constexpr size_t kGuardSlots = 64;  // live VMs per process (the daemon runs a few)
GuardSlot g_guard[kGuardSlots];
std::once_flag g_guard_once;

void sigbus_handler(int sig, siginfo_t* info, void*) {
    auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
    for (auto& slot : g_guard) {
        uintptr_t base = slot.base.load(std::memory_order_acquire);
        if (base && addr >= base && addr - base < slot.size.load(std::memory_order_relaxed)) {
            // Async-signal-safe: mmap and an atomic store. The faulting access
            // is retried on return and now reads zeros.
            void* page = reinterpret_cast<void*>(addr & ~uintptr_t{4095});
            if (::mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
                MAP_FAILED) {
                slot.lost.store(true, std::memory_order_release);
                return;
            }
        }
    }
    // Not guest RAM: a real bug in the monitor. Die of it as before.
    ::signal(sig, SIG_DFL);
}

void install_sigbus_guard() {
    struct sigaction sa{};
    sa.sa_sigaction = sigbus_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
}

int guard_register(uint8_t* base, uint64_t size) {
    std::call_once(g_guard_once, install_sigbus_guard);
    for (size_t i = 0; i < kGuardSlots; ++i) {
        uintptr_t expected = 0;
        g_guard[i].size.store(size, std::memory_order_relaxed);
        g_guard[i].lost.store(false, std::memory_order_relaxed);
        if (g_guard[i].base.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(base)))
            return static_cast<int>(i);
    }
    return -1;  // unguarded: a vanished page kills the process, as before
}

void guard_unregister(int slot) {
    if (slot >= 0)
        g_guard[slot].base.store(0, std::memory_order_release);
}

}  // namespace

bool GuestMemory::take_lost_pages() {
    return m_guard >= 0 && g_guard[m_guard].lost.exchange(false);
}

Result<GuestMemory> GuestMemory::create(uint64_t size, uint64_t anon_from) {
    GuestMemory mem;
    mem.m_fd = UniqueFd(::memfd_create("lightvm-guest-ram", MFD_CLOEXEC));
    if (!mem.m_fd.valid())
        return sys_error("memfd_create");
    if (::ftruncate(mem.m_fd.get(), static_cast<off_t>(size)) < 0)
        return sys_error("ftruncate guest memory");
    // At a 2 MiB-aligned host address: a guest 2 MiB page can then be one
    // huge host page, and KVM maps it with one large entry only when guest
    // and host addresses agree modulo 2 MiB.
    constexpr uint64_t kAlign = 2ull << 20;
    void* room = ::mmap(nullptr, size + kAlign, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (room == MAP_FAILED)
        return sys_error("mmap guest memory");
    auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(room) + kAlign - 1) & ~(kAlign - 1));
    // NORESERVE: RAM is sparse; only pages the guest touches cost anything.
    void* p = ::mmap(aligned, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED, mem.m_fd.get(), 0);
    if (p == MAP_FAILED) {
        ::munmap(room, size + kAlign);
        return sys_error("mmap guest memory");
    }
    auto* r = static_cast<uint8_t*>(room);
    if (aligned > r)
        ::munmap(r, static_cast<size_t>(aligned - r));
    if (r + size + kAlign > aligned + size)
        ::munmap(aligned + size, static_cast<size_t>(r + size + kAlign - (aligned + size)));
    mem.m_base = static_cast<uint8_t*>(p);
    mem.m_size = size;
    mem.m_owned = true;
    mem.m_guard = guard_register(mem.m_base, size);
    mem.m_anon_from = size;
    if (anon_from < size && (anon_from = (anon_from + kAlign - 1) & ~(kAlign - 1)) < size) {
        // Above anon_from, private anonymous memory: the host can back it
        // with 2 MiB pages (advise_huge), which memfd (shmem) memory cannot
        // get with Debian's default shmem_enabled=never. Not inherited by
        // the children the monitor forks (pasta).
        uint8_t* anon = mem.m_base + anon_from;
        const uint64_t len = size - anon_from;
        if (::mmap(anon, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
                   0) == MAP_FAILED)
            return sys_error("mmap guest memory");
        (void)::madvise(anon, len, MADV_DONTFORK);
        mem.m_anon_from = anon_from;
    }
    return mem;
}

GuestMemory GuestMemory::wrap(uint8_t* base, uint64_t size) {
    GuestMemory mem;
    mem.m_base = base;
    mem.m_size = size;
    return mem;
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept
    : m_fd(std::move(o.m_fd)),
      m_base(std::exchange(o.m_base, nullptr)),
      m_size(std::exchange(o.m_size, 0)),
      m_owned(std::exchange(o.m_owned, false)),
      m_guard(std::exchange(o.m_guard, -1)),
      m_anon_from(std::exchange(o.m_anon_from, ~0ull)),
      m_file_ranges(std::move(o.m_file_ranges)),
      m_from_snapshot(std::exchange(o.m_from_snapshot, false)),
      m_host_dirty(std::move(o.m_host_dirty)),
      m_tracking(o.m_tracking.exchange(false)) {}

GuestMemory& GuestMemory::operator=(GuestMemory&& o) noexcept {
    if (this != &o) {
        if (m_owned && m_base)
            ::munmap(m_base, m_size);
        guard_unregister(m_guard);
        m_guard = std::exchange(o.m_guard, -1);
        m_anon_from = std::exchange(o.m_anon_from, ~0ull);
        m_fd = std::move(o.m_fd);
        m_base = std::exchange(o.m_base, nullptr);
        m_size = std::exchange(o.m_size, 0);
        m_owned = std::exchange(o.m_owned, false);
        m_file_ranges = std::move(o.m_file_ranges);
        m_from_snapshot = std::exchange(o.m_from_snapshot, false);
        m_host_dirty = std::move(o.m_host_dirty);
        m_tracking = o.m_tracking.exchange(false);
    }
    return *this;
}

GuestMemory::~GuestMemory() {
    guard_unregister(m_guard);  // before the range can be reused
    if (m_owned && m_base)
        ::munmap(m_base, m_size);
}

Result<std::span<uint8_t>> GuestMemory::span(uint64_t gpa, uint64_t len) const {
    if (!contains(gpa, len)) {
        char msg[128];
        std::snprintf(msg, sizeof msg, "guest range 0x%" PRIx64 "+0x%" PRIx64 " is outside guest memory (0x%" PRIx64 " bytes)",
                      gpa, len, m_size);
        return make_error(ErrorKind::GuestFault, "memory", msg);
    }
    if (m_tracking.load(std::memory_order_acquire))
        note_host_write(gpa, len);
    return std::span<uint8_t>(m_base + gpa, len);
}

namespace {
uint64_t bitmap_words(uint64_t size) { return (size / 4096 + 63) / 64; }
}  // namespace

void GuestMemory::track_host_writes(bool on) {
    if (on && !m_host_dirty) {
        m_host_dirty = std::make_unique<std::atomic<uint64_t>[]>(bitmap_words(m_size));
    } else if (on) {
        for (uint64_t w = 0; w < bitmap_words(m_size); ++w)
            m_host_dirty[w].store(0, std::memory_order_relaxed);
    }
    m_tracking.store(on, std::memory_order_release);
}

void GuestMemory::note_host_write(uint64_t gpa, uint64_t len) const {
    if (!m_tracking.load(std::memory_order_acquire) || !contains(gpa, len))
        return;
    const uint64_t last = (gpa + (len ? len : 1) - 1) / 4096;
    for (uint64_t p = gpa / 4096; p <= last; ++p)
        m_host_dirty[p / 64].fetch_or(uint64_t{1} << (p % 64), std::memory_order_relaxed);
}

std::vector<uint64_t> GuestMemory::take_host_writes() {
    if (!m_tracking.load(std::memory_order_acquire))
        return {};
    std::vector<uint64_t> taken(bitmap_words(m_size));
    for (uint64_t w = 0; w < taken.size(); ++w)
        taken[w] = m_host_dirty[w].exchange(0, std::memory_order_relaxed);
    return taken;
}

Result<void> GuestMemory::write_bytes(uint64_t gpa, std::span<const uint8_t> bytes) {
    auto s = TRY(span(gpa, bytes.size()));
    if (!bytes.empty())  // memcpy with a null source is UB even for 0 bytes
        std::memcpy(s.data(), bytes.data(), bytes.size());
    return {};
}

bool GuestMemory::map_file(uint64_t gpa, uint64_t len, int fd, uint64_t file_offset) {
    if (!m_base || !contains(gpa, len) || (gpa | len | file_offset) & 4095)
        return false;
    void* p = ::mmap(m_base + gpa, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
                     static_cast<off_t>(file_offset));
    if (p == MAP_FAILED)
        return false;
    m_file_ranges.push_back({gpa, len});
    return true;
}

void GuestMemory::advise_huge(uint64_t gpa, uint64_t len) {
    constexpr uint64_t kHuge = 2ull << 20;
    if (!m_base || !contains(gpa, len) || m_from_snapshot)
        return;
    uint64_t a = std::max(gpa, m_anon_from), b = gpa + len;
    a = (a + kHuge - 1) & ~(kHuge - 1);
    b &= ~(kHuge - 1);
    if (a < b)  // best effort: without THP the pages stay 4 KiB
        (void)::madvise(m_base + a, b - a, MADV_HUGEPAGE);
}

int GuestMemory::discard(uint64_t gpa, uint64_t len) {
    if (!m_base || !contains(gpa, len) || ((gpa | len) & 4095))
        return -EINVAL;
    const uint64_t end = gpa + len;
    if (gpa < m_anon_from && m_fd.valid() &&
        ::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(gpa),
                    static_cast<off_t>(std::min(end, m_anon_from) - gpa)) < 0)
        return -errno;
    if (end > m_anon_from) {
        const uint64_t a = std::max(gpa, m_anon_from);
        if (::madvise(m_base + a, end - a, MADV_DONTNEED) < 0)
            return -errno;
    }
    return 0;
}

void GuestMemory::prefault(uint64_t gpa, uint64_t len, bool write) {
    if (m_base && contains(gpa, len) && ((gpa | len) & 4095) == 0)  // EINVAL before Linux 5.14: nothing lost
        (void)::madvise(m_base + gpa, len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

Result<std::vector<GuestMemory::Range>> GuestMemory::data_ranges() const {
    std::vector<Range> ranges = m_file_ranges;
    const off_t size = static_cast<off_t>(std::min(m_size, m_anon_from));
    for (off_t pos = 0; m_fd.valid() && pos < size;) {
        off_t data = ::lseek(m_fd.get(), pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)  // no data after pos
                break;
            return sys_error("lseek SEEK_DATA guest memory");
        }
        off_t hole = ::lseek(m_fd.get(), data, SEEK_HOLE);
        if (hole < 0)
            return sys_error("lseek SEEK_HOLE guest memory");
        hole = std::min(hole, size);
        ranges.push_back({uint64_t(data) & ~4095ull, ((uint64_t(hole) + 4095) & ~4095ull) - (uint64_t(data) & ~4095ull)});
        pos = hole;
    }
    if (m_anon_from < m_size) {  // anonymous RAM has no holes to seek: what is resident
        auto anon = TRY(resident_ranges(m_anon_from));
        ranges.insert(ranges.end(), anon.begin(), anon.end());
    }
    return merge(std::move(ranges));
}

std::vector<GuestMemory::Range> GuestMemory::merge(std::vector<Range> ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.gpa < b.gpa; });
    std::vector<Range> merged;
    for (const Range& r : ranges) {
        if (!merged.empty() && r.gpa <= merged.back().gpa + merged.back().len)
            merged.back().len = std::max(merged.back().gpa + merged.back().len, r.gpa + r.len) - merged.back().gpa;
        else
            merged.push_back(r);
    }
    return merged;
}

Result<void> GuestMemory::map_snapshot(int fd) {
    if (!m_owned || !m_base)
        return make_error(ErrorKind::BadInput, "memory", "no guest RAM to replace");
    void* p = ::mmap(m_base, m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED)
        return sys_error("mmap snapshot memory");
    m_file_ranges.clear();
    m_from_snapshot = true;
    return {};
}

uint64_t GuestMemory::resident_bytes() const {
    if (!m_base)
        return 0;
    long page = ::sysconf(_SC_PAGESIZE);
    size_t pages = (m_size + page - 1) / page;
    std::vector<unsigned char> vec(pages);
    if (::mincore(m_base, m_size, vec.data()) < 0)
        return 0;
    uint64_t n = 0;
    for (unsigned char v : vec)
        n += v & 1;
    return n * static_cast<uint64_t>(page);
}

Result<std::vector<GuestMemory::Range>> GuestMemory::resident_ranges(uint64_t from) const {
    std::vector<Range> ranges;
    if (!m_base || from >= m_size)
        return ranges;
    const uint64_t pages = (m_size + 4095) / 4096, first = from / 4096;
    std::vector<unsigned char> vec(pages - first);
    if (::mincore(m_base + first * 4096, m_size - first * 4096, vec.data()) < 0)
        return sys_error("mincore guest memory");
    for (uint64_t i = first; i < pages; ++i) {
        if (!(vec[i - first] & 1))
            continue;
        if (!ranges.empty() && ranges.back().gpa + ranges.back().len == i * 4096)
            ranges.back().len += 4096;
        else
            ranges.push_back({i * 4096, 4096});
    }
    return ranges;
}

}  // namespace lightvm
