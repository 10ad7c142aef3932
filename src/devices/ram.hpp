// Lazily registered guest RAM. Registering a KVM memslot costs time in
// proportion to its size (~0.6 us/MiB measured here: 165 us for 256 MiB,
// ~10 ms for 16 GiB), so at boot only the low region (image + brk headroom)
// and the high region (stack + first mmaps) are registered; the guest
// kernel asks (kHcMemGrow) before handing out memory in between, and each
// growth at least doubles the region, so a guest needs O(log n) exits.
// Boot cost no longer depends on --mem.
//
// Registration is also where the host's memory is enforced: a growth is
// granted only as far as the host (or lightvm's memory cgroup) can back it
// now, less a reserve for the monitor itself, so an overcommitted guest
// that touches more than the host has gets ENOMEM and its kernel's
// out-of-memory report, not lightvm OOM-killed (docs/security.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/result.hpp"
#include "memory/guest_memory.hpp"

namespace lightvm {

class RamDevice {
public:
    // register_slot(slot, gpa, size) makes [gpa, gpa+size) of `mem` guest RAM.
    using RegisterFn = std::function<Result<void>(uint32_t slot, uint64_t gpa, uint64_t size)>;

    // available() is what the host can back now (nullopt: unknown).
    using AvailableFn = std::function<std::optional<uint64_t>()>;
    // Kept free for the monitor's own memory beyond any growth.
    static constexpr uint64_t kReserve = 32ull << 20;

    RamDevice(GuestMemory& mem, RegisterFn register_slot) : m_mem(mem), m_register(std::move(register_slot)) {}
    void set_host_limit(AvailableFn available) { m_available = std::move(available); }

    // Registers the boot regions: [0, low_end) and [high_start, size).
    // Small guests are registered whole.
    Result<void> boot(uint64_t low_end, uint64_t high_start);
    // Extends the low region to cover [0, end): the load phase calls this
    // once the app (and so the end of its image + brk headroom) is known.
    Result<void> grow_low(uint64_t end);
    // Extends the high region down to cover [start, size): the app's file
    // and arguments at the top of RAM (monitor/layout.hpp).
    Result<void> grow_high(uint64_t start);
    Result<void> hypercall(uint64_t arg_gpa);
    // kHcMemRelease: punch a freed range out of guest RAM (abi.h).
    Result<void> release(uint64_t arg_gpa);
    uint64_t released_bytes() const { return m_released; }
    // A restore: the regions the saved VM had, [0, low_end) and
    // [high_start, size) (2 MiB aligned), registered on top of the boot ones.
    Result<void> restore(uint64_t low_end, uint64_t high_start);

    uint64_t low_end() const { return m_low_end; }
    uint64_t high_start() const { return m_high_start; }
    bool backed(uint64_t gpa) const { return gpa < m_low_end || (gpa >= m_high_start && gpa < m_mem.size()); }
    uint32_t slots() const { return m_next_slot; }
    uint64_t refused() const { return m_refused; }  // growths the host could not back
    uint64_t backed_bytes() const { return m_low_end + (m_mem.size() - m_high_start); }
    // Every KVM memslot registered so far (a live migration turns on their
    // dirty logs; migration/sender.hpp).
    struct Region {
        uint32_t slot;
        uint64_t gpa, size;
    };
    const std::vector<Region>& regions() const { return m_regions; }

private:
    Result<void> add(uint64_t gpa, uint64_t end);
    // How many bytes a region may grow now: `want` if the host can back
    // it, else as much as it can but at least `need`; 0 when not even that.
    uint64_t allowed(uint64_t need, uint64_t want);

    GuestMemory& m_mem;
    RegisterFn m_register;
    AvailableFn m_available;
    uint64_t m_refused = 0;
    uint64_t m_released = 0;
    uint64_t m_low_end = 0, m_high_start = 0;
    uint32_t m_next_slot = 0;
    std::vector<Region> m_regions;
};

}  // namespace lightvm
