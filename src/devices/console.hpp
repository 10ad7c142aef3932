// Console device, host half: drains the guest's output ring (stdout,
// stderr, --trace) at every exit, and serves the two stream hypercalls
// that bypass the ring: big writes and stdin reads.
#pragma once

#include <cstdint>

#include "devices/device.hpp"

namespace lightvm {

class Console {
public:
    Console(GuestMemory& mem, int stdin_fd, int stdout_fd, int stderr_fd, int trace_fd)
        : m_mem(mem), m_in(stdin_fd), m_out(stdout_fd), m_err(stderr_fd), m_trace(trace_fd) {}

    // Move everything in the ring to the host streams. A corrupt ring is a
    // hostile guest: error. A closed stdout pipe ends the guest with SIGPIPE.
    Result<void> drain(Outcome& outcome);
    Result<void> hc_write(uint64_t arg_gpa, Outcome& outcome);
    Result<void> hc_read(uint64_t arg_gpa);
    Result<void> hc_stdin_seek(uint64_t arg_gpa);

    uint64_t bytes_out() const { return m_bytes_out; }

private:
    // Write all of [p, p+n) to fd; false with errno on failure.
    bool write_all(int fd, const uint8_t* p, size_t n);
    int host_fd(uint32_t stream) const;

    GuestMemory& m_mem;
    int m_in, m_out, m_err, m_trace;
    uint64_t m_bytes_out = 0;
};

}  // namespace lightvm
