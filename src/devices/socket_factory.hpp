// Rootless --net user: a process of the monitor's in a user namespace and a
// network namespace of its own (an unprivileged user may create both; the
// monitor itself stays in the host's user namespace, where it sees host
// files with their real owners). It creates the VM's host sockets on
// request and passes them back: a socket belongs to the namespace it was
// made in, whoever uses it afterwards. pasta joins the same namespaces.
// docs/design.md "Networking".
#pragma once

#include <sys/types.h>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm {

class SocketFactory {
public:
    // Forks the namespace process (it ends with the monitor: its channel
    // closes, and a parent-death signal). One-line errors when user
    // namespaces are not allowed here.
    static Result<SocketFactory> start();

    // socket(domain, type, protocol) in the namespace: an fd, or -errno.
    int make(int domain, int type, int protocol) const;

    pid_t pid() const { return m_pid; }
    // The namespace process's /proc/PID/ns/{user,net}, for pasta.
    int user_ns() const { return m_user_ns.get(); }
    int net_ns() const { return m_net_ns.get(); }
    bool active() const { return m_chan.valid(); }

private:
    pid_t m_pid = -1;
    UniqueFd m_chan;
    UniqueFd m_user_ns, m_net_ns;
};

}  // namespace lightvm
