#include "devices/ram.hpp"

#include <fcntl.h>

#include <cerrno>

#include "lightvm/abi.h"

namespace lightvm {

namespace {
constexpr uint64_t kAlign = abi::kHugePageSize;
constexpr uint64_t kWholeBelow = 64ull << 20;  // register small guests in one go
uint64_t down(uint64_t v) { return v & ~(kAlign - 1); }
uint64_t up(uint64_t v) { return (v + kAlign - 1) & ~(kAlign - 1); }
}  // namespace

Result<void> RamDevice::add(uint64_t gpa, uint64_t end) {
    if (end <= gpa)
        return {};
    TRY(m_register(m_next_slot, gpa, end - gpa));
    m_regions.push_back({m_next_slot++, gpa, end - gpa});
    return {};
}

Result<void> RamDevice::boot(uint64_t low_end, uint64_t high_start) {
    const uint64_t size = m_mem.size();
    low_end = std::min(up(low_end), size);
    high_start = std::max(down(high_start), low_end);
    if (size <= kWholeBelow || high_start - low_end < kAlign) {
        low_end = high_start = size;
    }
    TRY(add(0, low_end));
    TRY(add(high_start, size));
    m_low_end = low_end;
    m_high_start = high_start;
    return {};
}

Result<void> RamDevice::grow_low(uint64_t end) {
    end = std::min(up(end), m_high_start);
    if (end <= m_low_end)
        return {};
    TRY(add(m_low_end, end));
    m_low_end = end;
    return {};
}

Result<void> RamDevice::grow_high(uint64_t start) {
    start = std::max(down(start), m_low_end);
    if (start >= m_high_start)
        return {};
    TRY(add(start, m_high_start));
    m_high_start = start;
    return {};
}

Result<void> RamDevice::restore(uint64_t low_end, uint64_t high_start) {
    const uint64_t size = m_mem.size();
    if (low_end > high_start || high_start > size || (low_end | high_start) % kAlign)
        return make_error(ErrorKind::BadInput, "snapshot", "bad RAM regions");
    if (low_end > m_low_end && m_low_end < m_high_start) {
        uint64_t end = std::min(low_end, m_high_start);
        TRY(add(m_low_end, end));
        m_low_end = end;
    }
    if (high_start < m_high_start && m_low_end < m_high_start) {
        uint64_t start = std::max(high_start, m_low_end);
        TRY(add(start, m_high_start));
        m_high_start = start;
    }
    return {};
}

uint64_t RamDevice::allowed(uint64_t need, uint64_t want) {
    auto available = m_available ? m_available() : std::nullopt;
    if (!available)
        return want;
    const uint64_t room = *available > kReserve ? down(*available - kReserve) : 0;
    if (room < need)
        return 0;
    return std::min(want, std::max(need, room));
}

Result<void> RamDevice::hypercall(uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcMemGrow>(arg_gpa));
    const uint64_t size = m_mem.size();
    hc.result = 0;
    if (hc.start >= hc.end || hc.end > size) {
        hc.result = -ENOMEM;
    } else {
        // Grow whichever region is nearer, at least doubling it, until the
        // range is covered (a range in the middle may need both).
        while (m_low_end < m_high_start && !(hc.end <= m_low_end || hc.start >= m_high_start)) {
            uint64_t gap_mid = m_low_end + (m_high_start - m_low_end) / 2;
            if (hc.start >= gap_mid || hc.end > gap_mid) {
                uint64_t grown = size - m_high_start;
                uint64_t target = std::min(down(hc.start), m_high_start > grown ? m_high_start - grown : 0);
                target = std::max(target, m_low_end);
                const uint64_t need = m_high_start - std::max(down(hc.start), m_low_end);
                const uint64_t by = allowed(need, m_high_start - target);
                if (!by)
                    break;
                TRY(add(m_high_start - by, m_high_start));
                m_high_start -= by;
            } else {
                uint64_t target = std::max(up(hc.end), m_low_end * 2);
                target = std::min(target, m_high_start);
                const uint64_t need = std::min(up(hc.end), m_high_start) - m_low_end;
                const uint64_t by = allowed(need, target - m_low_end);
                if (!by)
                    break;
                TRY(add(m_low_end, m_low_end + by));
                m_low_end += by;
            }
        }
        if (m_low_end < m_high_start && !(hc.end <= m_low_end || hc.start >= m_high_start)) {
            ++m_refused;
            hc.result = -ENOMEM;
        }
    }
    hc.low_end = m_low_end;
    hc.high_start = m_high_start;
    return m_mem.write(arg_gpa, hc);
}

Result<void> RamDevice::release(uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcMemRelease>(arg_gpa));
    const bool aligned = (hc.start | hc.end) % abi::kPageSize == 0;
    // Wholly inside one backed region (low or high): never across the unbacked gap.
    const bool inside =
        hc.start < hc.end && hc.end <= m_mem.size() && (hc.end <= m_low_end || hc.start >= m_high_start);
    hc.result = 0;
    if (!aligned || !inside) {
        hc.result = -EINVAL;
    } else if (int r = m_mem.discard(hc.start, hc.end - hc.start); r < 0) {
        hc.result = r;  // the memory stays, as it was: nothing lost
    } else {
        m_released += hc.end - hc.start;
        m_mem.note_host_write(hc.start, hc.end - hc.start);  // now zero: a migration resends it
    }
    return m_mem.write(arg_gpa, hc);
}

}  // namespace lightvm
