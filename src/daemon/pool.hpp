// The warm pool: monitor processes that have already built a VM shell
// (Vm::create) and wait for a workload. One queue per shape (memory size);
// a background thread keeps each configured shape at its target. A shell
// is handed to exactly one VM; the monitor exits with that VM, so no shell
// is ever reused (docs/design.md, "Shells: always fresh").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm::daemon {

struct Shell {
    pid_t pid = -1;
    UniqueFd link;    // SOCK_SEQPACKET to the monitor (daemon/link.hpp)
    bool pooled = false;
};

// Starts a monitor process for one shell of `mem_size` bytes and waits until
// it reports the shell ready.
Result<Shell> spawn_shell(const std::string& monitor_path, uint64_t mem_size);

class Pool {
public:
    Pool(std::string monitor_path, uint64_t default_mem, unsigned target);
    ~Pool();
    void start();
    void stop();  // kills idle shells

    // A ready shell of this shape: from the pool if one is there (pooled =
    // true), else made now (cold).
    Result<Shell> take(uint64_t mem_size);
    // Wakes the background refill. take() does not when it hands out a
    // pooled shell: the woken thread starts a monitor process at once
    // (posix_spawn), and on a busy host that took the CPU from the start
    // in progress (~0.8 ms of a 1 ms daemon path, docs/benchmarks.md 4b).
    // The caller refills once its VM runs; even then the refill waits
    // kQuietAfterStart (3 ms) while the shape still has a ready shell, so
    // the new VM's sandbox entry and guest boot keep the CPU.
    void refill();

    struct ShapeInfo {
        uint64_t mem_size;
        unsigned target, ready;
        uint64_t hits, misses, spawned, spawn_failures;
    };
    std::vector<ShapeInfo> info();
    // Sets the target for a shape (0 removes it from the background refill).
    void set_target(uint64_t mem_size, unsigned target);
    const std::string& monitor_path() const { return m_monitor; }

private:
    struct Queue {
        unsigned target = 0;
        std::deque<Shell> ready;
        uint64_t hits = 0, misses = 0, spawned = 0, failures = 0;
    };
    void refill_loop();

    std::string m_monitor;
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::map<uint64_t, Queue> m_queues;
    bool m_stopping = false;
    static constexpr std::chrono::milliseconds kQuietAfterStart{3};
    std::chrono::steady_clock::time_point m_quiet_until{};
    std::thread m_thread;
};

}  // namespace lightvm::daemon
