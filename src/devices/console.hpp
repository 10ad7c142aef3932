// Console device, host half: drains the guest's output ring (stdout,
// stderr, --trace) at every exit, and serves the two stream hypercalls
// that bypass the ring: big writes and stdin reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "devices/device.hpp"
#include "devices/host_tty.hpp"

namespace lightvm {

class Console {
public:
    // trace_fd < 0: no --trace; the guest's trace records are dropped.
    Console(GuestMemory& mem, int stdin_fd, int stdout_fd, int stderr_fd, int trace_fd)
        : m_mem(mem), m_in(stdin_fd), m_out(stdout_fd), m_err(stderr_fd), m_trace(trace_fd),
          m_tty(stdin_fd, stdout_fd, stderr_fd) {}

    // Move everything in the ring to the host streams. A corrupt ring is a
    // hostile guest: error. A closed stdout pipe ends the guest with SIGPIPE.
    Result<void> drain(Outcome& outcome);
    Result<void> hc_write(uint64_t arg_gpa, Outcome& outcome);
    Result<void> hc_read(uint64_t arg_gpa);
    Result<void> hc_stdin_seek(uint64_t arg_gpa);
    Result<void> hc_tty(uint64_t arg_gpa);
    // SIGWINCH: the host terminal's size into the boot page's TtyState
    // (false without a terminal: nothing written).
    Result<bool> refresh_window_size();
    // A VM restored from a snapshot goes on as its program left the
    // terminal (raw mode, say): the host terminal it now runs on gets the
    // guest's settings (put back at the end like any change); the boot
    // page gets this terminal's window size (the guest kernel's copy
    // follows at the next SIGWINCH).
    Result<void> resume_tty();
    // The host terminal as it was before the guest changed it (every end
    // of a run calls this: the process may exit without destructors).
    void restore_tty() { m_tty.restore(); }

    // A detached VM's stdout and stderr are its log file (lightvmd):
    // STATE_DIR/vms/ID/output.log below `dir_fd`, at most `max` bytes, the
    // previous file kept as output.log.1. The monitor rotates it itself,
    // so lightvmd holds no descriptor for a running VM's output.
    void set_log(int dir_fd, uint64_t max);

    uint64_t bytes_out() const { return m_bytes_out; }
    // Stdin bytes this run read from the host (UINT64_MAX once the guest
    // seeked stdin). A restored guest's read-ahead may still hold bytes of
    // the stdin it was saved with: only what came from ours is ours to
    // give back at the end.
    uint64_t bytes_in() const { return m_bytes_in; }

private:
    // Write all of [p, p+n) to fd; false with errno on failure.
    bool write_all(int fd, const uint8_t* p, size_t n);
    bool write_out(int fd, const uint8_t* p, size_t n);
    // The log (set_log): a new output.log over the old fds (false: not done).
    bool rotate_log();
    int host_fd(uint32_t stream) const;
    // Guest trace text, neutralised so it cannot pass for a monitor message.
    bool write_trace(const uint8_t* p, size_t n);

    GuestMemory& m_mem;
    int m_in, m_out, m_err, m_trace;
    uint64_t m_bytes_out = 0;
    uint64_t m_bytes_in = 0;
    size_t m_trace_col = 0;    // chars of "lightvm" matched at the start of this trace line; SIZE_MAX: decided
    std::string m_trace_held;  // those chars, held back until decided
    HostTty m_tty;
    int m_log_dir = -1;
    uint64_t m_log_max = 0, m_log_size = 0;
};

}  // namespace lightvm
