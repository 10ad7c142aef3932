// Network device, host half: the host sockets a guest's AF_INET/AF_INET6
// sockets are forwarded to (kHcNet), named to the guest by handle. The
// host's TCP/IP stack does the work; every socket is non-blocking here and
// a request may ask to wait (bounded, stoppable) for readiness first.
//   --net none: no socket can be created; only the -p sockets opened
//     before the VM starts are reachable (accept, and the connections; a
//     UDP one sends only to the sources it last received from).
//   --net host: sockets in the host's network namespace.
//   --net ns:PATH: the same in the namespace at PATH; the whole monitor
//     process joins it (one VM per monitor), -p listeners included.
//   --net user: the same in a new namespace pasta connects to the outside
//     (devices/user_net.hpp); -p listeners stay in the host's namespace.
// docs/design.md "Networking" (the model and its numbers), docs/security.md.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "devices/user_net.hpp"
#include "memory/guest_memory.hpp"
#include "monitor/config.hpp"

namespace lightvm {

class NetDevice {
public:
    // Joins the network namespace at netns_path (--net ns:PATH; "" = stay
    // in ours) and opens (binds, listens on) every published port, then
    // (--net user) moves into a namespace of the VM's own with pasta on it,
    // all before the sandbox forbids these: "-p 8080:80: port 8080 is already in
    // use", "--net ns:/x: network namespace /x: No such file or directory".
    // host_ns: the host's network namespace when this thread has left it
    // (lightvmd's monitors leave it while they wait in the pool): -p ports
    // are bound there and --net user/host start from there; --net none
    // then returns to the namespace it had.
    static Result<NetDevice> create(NetMode mode, const std::vector<PublishSpec>& publish,
                                    const std::string& netns_path = {}, int host_ns = -1);

    NetDevice(NetDevice&&) noexcept;
    NetDevice& operator=(NetDevice&&) noexcept;
    NetDevice(const NetDevice&) = delete;
    NetDevice& operator=(const NetDevice&) = delete;
    ~NetDevice();

    // One kHcNet request. Host errors become -errno in the reply; a bad
    // guest range or an unknown operation is an ErrorKind::GuestFault.
    Result<void> hypercall(GuestMemory& mem, uint64_t arg_gpa);

    NetMode mode() const { return m_mode; }
    // The host fd behind the guest's stdin: kNetPoll entries may name it
    // (abi::kNetPollStdin). -1: none (such entries report POLLNVAL).
    void set_stdin(int fd) { m_stdin = fd; }
    size_t open_sockets() const;
    // Exec (monitor/exec_channel.hpp): three connected host sockets become
    // handles (out[]), the guest process's stdio. All or none: on failure
    // (-EMFILE) all three fds are closed.
    int64_t adopt(const int (&fds)[3], uint32_t (&out)[3]);
    // Host port of the listener for guest port p (tests): 0 when none.
    uint16_t published_host_port(uint16_t guest_port) const;

private:
    NetDevice() = default;

    // A source a -p UDP socket received from (--net none): the only
    // addresses it may send to. key: the address as IPv6 (IPv4 mapped) and
    // the port, so the guest may spell it either way.
    struct UdpPeer {
        std::array<uint8_t, 18> key;
        sockaddr_storage addr;
        socklen_t len;
    };
    struct Sock {
        int fd = -1;
        int family = 0;
        uint16_t guest_port = 0;  // -p: the port the guest believes it bound
        bool published = false;   // the monitor's listener: a guest close only detaches
        std::vector<UdpPeer> peers;  // -p UDP under --net none: its clients, least recent first
    };
    int fd_of(uint32_t handle) const;
    bool confined_udp(uint32_t handle) const;
    void remember_peer(uint32_t handle, const sockaddr_storage& from, socklen_t len);
    const UdpPeer* find_peer(uint32_t handle, std::span<const uint8_t> to) const;
    int poll_fd_of(uint32_t handle) const;
    int64_t add(int fd, int family, uint16_t guest_port);
    uint32_t poll_state(int fd) const;
    int64_t do_socket(uint32_t family, uint32_t type, uint32_t protocol);

    NetMode m_mode = NetMode::None;
    UserNetwork m_user;                  // --net user: pasta
    std::vector<Sock> m_socks;           // handle = index
    int m_stdin = -1;
    std::vector<PublishSpec> m_publish;  // m_socks[i] for i < size: the listener of m_publish[i]
};

}  // namespace lightvm
