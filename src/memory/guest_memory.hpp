// Guest RAM: a memfd mapped shared into the monitor (and, above a bound
// the monitor chooses, anonymous memory the host can back with 2 MiB
// pages). All monitor access to guest memory goes through the checked
// accessors here: the guest is hostile, and every address and length it
// hands us is validated with overflow-safe math.
#pragma once

#include <cstdint>
#include <atomic>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm {

class GuestMemory {
public:
    // [0, anon_from) is the memfd's, the rest anonymous (advise_huge);
    // anon_from is rounded up to 2 MiB.
    static Result<GuestMemory> create(uint64_t size, uint64_t anon_from = ~0ull);
    // Wrap caller-owned storage (unit tests; no memfd).
    static GuestMemory wrap(uint8_t* base, uint64_t size);

    GuestMemory() = default;
    GuestMemory(GuestMemory&&) noexcept;
    GuestMemory& operator=(GuestMemory&&) noexcept;
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;
    ~GuestMemory();

    uint64_t size() const { return m_size; }
    uint8_t* host_base() const { return m_base; }
    int fd() const { return m_fd.get(); }

    bool contains(uint64_t gpa, uint64_t len) const {
        return gpa <= m_size && len <= m_size - gpa;
    }
    // [gpa, gpa+len) as a host span, or an error naming the bad range.
    Result<std::span<uint8_t>> span(uint64_t gpa, uint64_t len) const;

    template <class T>
    Result<T> read(uint64_t gpa) const {
        static_assert(std::is_trivially_copyable_v<T>);
        auto s = TRY(span(gpa, sizeof(T)));
        T value;
        std::memcpy(&value, s.data(), sizeof(T));
        return value;
    }
    template <class T>
    Result<void> write(uint64_t gpa, const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        auto s = TRY(span(gpa, sizeof(T)));
        std::memcpy(s.data(), &value, sizeof(T));
        return {};
    }
    Result<void> write_bytes(uint64_t gpa, std::span<const uint8_t> bytes);

    // Map len bytes of a file copy-on-write at [gpa, gpa+len) in place of
    // the memfd pages (page-aligned). Guest writes stay private. Snapshots
    // must copy such ranges (they are not in the memfd).
    bool map_file(uint64_t gpa, uint64_t len, int fd, uint64_t file_offset);

    // Backs [gpa, gpa+len) with host pages now (MADV_POPULATE_WRITE; with
    // write false, MADV_POPULATE_READ: file pages mapped, not copied), so
    // the guest's first touches cost no host page fault. Best effort: a
    // range outside guest RAM or an older kernel changes nothing.
    void prefault(uint64_t gpa, uint64_t len, bool write = true);

    // RAM from anon_from (create) up is private anonymous memory, not the
    // memfd's: the host may back it with 2 MiB pages. advise_huge asks for
    // them over [gpa, gpa+len) (MADV_HUGEPAGE, whole 2 MiB inside only):
    // the guest's frame pool past its first pages, where 2 MiB entries and
    // the kernel's 2 MiB physmap go, not the few pages an idle VM touches.
    // Best effort.
    void advise_huge(uint64_t gpa, uint64_t len);
    // Gives [gpa, gpa+len) back to the host: reads see zeros again (a hole
    // punched in the memfd, MADV_DONTNEED in the anonymous part). Page-aligned.
    // 0 or -errno; on error the memory stays as it was.
    int discard(uint64_t gpa, uint64_t len);

    // Snapshots. The ranges that may hold data, page-aligned, sorted and
    // merged: the memfd's data extents (SEEK_DATA: pages never touched are
    // holes), the resident pages of the anonymous part and the ranges
    // map_file put there.
    struct Range {
        uint64_t gpa, len;
    };
    Result<std::vector<Range>> data_ranges() const;
    // Sorted, with overlapping and touching ranges joined.
    static std::vector<Range> merge(std::vector<Range> ranges);
    // Replace all of guest RAM with a private, copy-on-write mapping of a
    // snapshot's memory file (of exactly size() bytes): O(1), pages are read
    // when the guest first touches them.
    Result<void> map_snapshot(int fd);
    // RAM is a snapshot's mapping: data_ranges() cannot find what changed.
    bool from_snapshot() const { return m_from_snapshot; }

    // Pages of guest RAM resident on the host (for --stats).
    uint64_t resident_bytes() const;
    // Ranges of guest RAM with a page resident on the host (mincore): for a
    // snapshot's mapping, every page the guest touched since the restore.
    Result<std::vector<Range>> resident_ranges(uint64_t from = 0) const;

    // Guest RAM mapped from a file (the app's pages) loses its backing when
    // that file shrinks: touching such a page raises SIGBUS. The monitor
    // must never die of that, so a process-wide SIGBUS handler replaces a
    // vanished page of any live guest RAM with a zero page and records it
    // here; the exit loop then ends that guest with a SIGBUS report.
    // Returns whether a page of this RAM was lost since the last call.
    bool take_lost_pages();

    // Live migration (monitor/vm_migrate.hpp): KVM's dirty log sees only
    // the guest's own writes, not the monitor's (device data, boot-page
    // fields). While tracking, every range span() hands out is marked, one
    // bit per page: reads too, a superset is safe. Any vCPU thread may mark
    // (atomically); the bitmap, once made, lives as long as this memory, so
    // a mark racing the end of tracking never touches freed memory.
    void track_host_writes(bool on);
    void note_host_write(uint64_t gpa, uint64_t len) const;
    // The pages marked since the last call (bit p of word p / 64), cleared.
    std::vector<uint64_t> take_host_writes();

private:
    UniqueFd m_fd;
    uint8_t* m_base = nullptr;
    uint64_t m_size = 0;
    bool m_owned = false;
    int m_guard = -1;  // SIGBUS guard slot, or -1
    uint64_t m_anon_from = ~0ull;  // [m_anon_from, m_size) is anonymous, not the memfd's
    std::vector<Range> m_file_ranges;  // map_file()
    bool m_from_snapshot = false;
    std::unique_ptr<std::atomic<uint64_t>[]> m_host_dirty;  // track_host_writes(): made on first use
    std::atomic<bool> m_tracking{false};
};

}  // namespace lightvm
