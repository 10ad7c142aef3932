// A sampling profiler for the guest, for developers: with LIGHTVM_PROFILE=FILE
// in the environment, vCPU 0 is interrupted every LIGHTVM_PROFILE_US
// microseconds (default 250) and its instruction pointer recorded; at the end
// FILE gets "count address" lines, most frequent first. Each sample is one
// exit (~30 us here, docs/platform.md), so the default rate costs ~10 %.
// scripts/profile.py turns the addresses into guest kernel and program
// symbols (docs/profiling.md).
#pragma once

#include <cstdint>
#include <unordered_map>

namespace lightvm {

class Profiler {
public:
    // Opens LIGHTVM_PROFILE's file: call before the monitor's sandbox,
    // which would refuse it later. A failure is one line on stderr.
    static void open_output();
    // Active when open_output() opened a file.
    static Profiler from_env();
    bool active() const { return m_fd >= 0; }
    uint64_t interval_us() const { return m_interval_us; }
    void record(uint64_t rip) { ++m_counts[rip]; }
    // Writes the histogram; a failure is reported on stderr, not fatal.
    void write() const;

private:
    int m_fd = -1;
    uint64_t m_interval_us = 250;
    std::unordered_map<uint64_t, uint64_t> m_counts;
};

}  // namespace lightvm
