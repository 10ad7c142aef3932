// The guest clock's arithmetic across a restore (snapshot/guest_clock.hpp):
// what the guest reads after a rebase, with the TSC that started again
// after a host reboot, another host's TSC rate, and a wall clock that went
// back.
#include <gtest/gtest.h>

#include "snapshot/guest_clock.hpp"

namespace lightvm::snapshot {
namespace {

constexpr uint64_t kSecond = 1000000000;

GuestClock booted(uint64_t khz, uint64_t tsc, uint64_t realtime, uint64_t monotonic) {
    return {khz, tsc, tsc_mult_for(khz), 32, realtime, monotonic};
}

TEST(GuestClock, ReadsTheTimeSinceItsReference) {
    const GuestClock c = booted(2'900'000, 1'000'000, 1'700'000'000 * kSecond, 5 * kSecond);
    EXPECT_EQ(since_base_ns(c, 1'000'000), 0u);
    EXPECT_NEAR(static_cast<double>(since_base_ns(c, 1'000'000 + 2'900'000'000ull)), 1e9, 1);
    EXPECT_EQ(since_base_ns(c, 999'000), 0u) << "a TSC read behind the reference is 0, not 2^64";
    EXPECT_NEAR(static_cast<double>(guest_monotonic_ns(c, 1'000'000 + 29'000'000)), 5e9 + 1e7, 1);
}

// After a reboot the host's TSC is small and the guest was up for weeks:
// the reference lies above the TSC, and the guest reads exactly the time
// it should, then keeps counting at the TSC's rate.
TEST(GuestClock, RebaseAboveTheTscContinuesTheGuestsClock) {
    const GuestClock saved = booted(2'900'000, 123'456'789, 1'700'000'000 * kSecond, 7 * kSecond);
    const uint64_t weeks = 40ull * 24 * 3600 * kSecond;
    const uint64_t tsc_now = 5'000'000'000ull;  // ~1.7 s after the host's boot
    const GuestClock c = rebase(saved, weeks, tsc_now, 2'900'000);
    EXPECT_GT(c.tsc_base, tsc_now) << "wrapped: the difference is negative unsigned";
    EXPECT_EQ(c.monotonic_base_ns, saved.monotonic_base_ns);
    EXPECT_EQ(c.realtime_base_ns, saved.realtime_base_ns);
    const uint64_t read = since_base_ns(c, tsc_now);
    EXPECT_GE(read, weeks) << "never before the saved instant";
    EXPECT_LT(read - weeks, 1000u);
    EXPECT_NEAR(static_cast<double>(since_base_ns(c, tsc_now + 2'900'000'000ull) - read), 1e9, 2);
}

// Another host's TSC runs at another rate: the guest's multiplier follows.
TEST(GuestClock, RebaseTakesTheNewHostsRate) {
    const GuestClock saved = booted(2'900'000, 0, 0, 0);
    const GuestClock c = rebase(saved, 3 * kSecond, 10'000'000'000ull, 2'000'000);
    EXPECT_EQ(c.tsc_khz, 2'000'000u);
    EXPECT_EQ(c.tsc_mult, tsc_mult_for(2'000'000));
    EXPECT_GE(since_base_ns(c, 10'000'000'000ull), 3 * kSecond);
    EXPECT_NEAR(static_cast<double>(since_base_ns(c, 12'000'000'000ull)), 4e9, 2);
}

// Never a nanosecond back, even where the truncated multiplier would read
// less than asked after a long uptime.
TEST(GuestClock, RebaseNeverReadsBeforeTheSavedInstant) {
    const GuestClock saved = booted(3'000'000, 0, 0, 0);
    for (uint64_t since : {uint64_t{1}, 999 * kSecond, 1'000'000 * kSecond, 60'000'000 * kSecond})
        for (uint64_t khz : {uint64_t{1'000'001}, uint64_t{2'899'999}, uint64_t{3'700'000}}) {
            const GuestClock c = rebase(saved, since, 77'777'777, khz);
            const uint64_t read = since_base_ns(c, 77'777'777);
            EXPECT_GE(read, since) << since << " at " << khz;
            EXPECT_LT(read - since, 2000u) << since << " at " << khz;
        }
}

TEST(GuestClock, TimeAwayIsTheWallClocksAndNeverNegative) {
    EXPECT_EQ(time_away_ns(100, 350), 250u);
    EXPECT_EQ(time_away_ns(350, 100), 0u) << "another host's wall clock behind this one's";
}

TEST(GuestClock, MonotonicOffsetIsGuestMinusHost) {
    const GuestClock c = booted(1'000, 1000, 0, 50 * kSecond);  // 1 MHz: 1 tick = 1 us
    EXPECT_NEAR(static_cast<double>(monotonic_offset_ns(c, 1000 + 1'000'000, 20 * kSecond)), 31e9, 1);
    EXPECT_NEAR(static_cast<double>(monotonic_offset_ns(c, 1000, 80 * kSecond)), -30e9, 1);
}

}  // namespace
}  // namespace lightvm::snapshot
