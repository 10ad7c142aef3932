// --net user: the VM's host sockets live in a network namespace of their
// own, which pasta (Debian's passt package) connects to the outside world
// in user mode: outbound TCP/UDP/ICMP and DNS leave through pasta's host
// sockets, nothing comes in except the -p ports the monitor publishes in
// the host's namespace, and the host's loopback services are out of reach
// (pasta runs with --no-map-gw and without namespace-to-host forwarding).
// docs/design.md "Networking" (why pasta, what it costs).
#pragma once

#include <sys/types.h>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "devices/socket_factory.hpp"

namespace lightvm {

struct UserNetwork {
    // Moves the calling thread (the monitor's main thread, before any vCPU
    // thread exists: namespaces are per thread and inherited) into a new
    // network namespace and starts pasta on it, without waiting for pasta
    // to configure it (~20 ms, docs/benchmarks.md §17): the net device does, at the
    // guest's first socket. One-line errors: no pasta binary, no privilege
    // to create a namespace. pasta is stopped when the monitor process
    // ends, however it ends (a supervisor process waits for that: the
    // sandboxed monitor may not kill).
    //
    // Without the privilege for a network namespace (not root), the
    // namespaces are a process's of the monitor's, in a user namespace of
    // its own (devices/socket_factory.hpp): the monitor's thread stays
    // where it is and asks that process for each socket.
    static Result<UserNetwork> start();

    // A host socket in the VM's namespace (made here unless a namespace
    // process makes it): an fd or -errno.
    int make_socket(int domain, int type, int protocol) const;

    // Once ready_fd is readable (the caller waits, stoppably): whether
    // pasta configured the namespace; then returns at once.
    // "--net user: pasta failed: <its last line>".
    Result<void> take_ready();
    bool up() const { return m_up; }

    pid_t supervisor_pid = -1;  // pasta's parent
    UniqueFd life;              // closing it (the monitor ending) stops pasta
    UniqueFd ready_fd;          // a byte when pasta is ready; EOF: it failed
    UniqueFd log;               // pasta's stderr (memfd)
    SocketFactory factory;      // rootless: where the sockets are made

private:
    bool m_up = false;
};

}  // namespace lightvm
