#include "kernel/time/clock.hpp"

#include "kernel/kernel.hpp"

namespace lightvm::guest {

namespace {
uint64_t since_base_ns() {
    const abi::BootInfo& b = boot();
    uint64_t tsc = rdtsc();
    // Signed: tsc_base lies above the TSC after a restore in another host
    // boot; a TSC read a little behind it on another CPU gives 0.
    const int64_t signed_delta = static_cast<int64_t>(tsc - b.tsc_base);
    const uint64_t delta = signed_delta > 0 ? static_cast<uint64_t>(signed_delta) : 0;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * b.tsc_mult) >> b.tsc_shift);
}
}  // namespace

uint64_t monotonic_ns() { return boot().monotonic_base_ns + since_base_ns(); }
uint64_t realtime_ns() { return boot().realtime_base_ns + since_base_ns(); }
uint64_t boottime_ns() { return since_base_ns(); }

}  // namespace lightvm::guest
