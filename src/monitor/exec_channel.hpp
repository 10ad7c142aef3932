// The exec channel of a running VM (lightvm-oci exec; docs/design.md
// "Exec"): a Unix socket, bound before the monitor is sandboxed, on which
// clients ask for a new process in the guest. A thread of its own accepts
// them and queues their requests; the vCPU thread hands the queue to the
// guest (kHcExec) and sends each process's end back to its client.
//
// Wire protocol (SOCK_SEQPACKET, one message each):
//   client -> monitor  ExecRequest (kind kExecStart) + argv/env strings,
//                      with 3 fds (stdin, stdout, stderr) by SCM_RIGHTS;
//                      later: an int32 signal for the process, any number
//                      of times; with a terminal (abi.h kExecTty) also an
//                      ExecResizeMsg when the client's terminal has a new
//                      size; hanging up means SIGKILL.
//   monitor -> client  ExecReply {kExecExited, wait status} at the end, or
//                      {kExecRefused, errno} instead of starting.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "lightvm/abi.h"
#include "memory/guest_memory.hpp"

namespace lightvm {

class NetDevice;

enum ExecReplyKind : int32_t { kExecExited = 0, kExecRefused = 1 };
struct ExecReply {
    int32_t kind;   // ExecReplyKind
    int32_t value;  // wait status, or errno
};

// The size of the client's terminal (first right after the request).
struct ExecResizeMsg {
    int32_t zero = 0;  // tells it from a signal message
    uint16_t rows = 0, cols = 0;
};
static_assert(sizeof(ExecResizeMsg) == 8);

inline constexpr size_t kMaxExecClients = 16;

class ExecChannel {
public:
    // Binds and listens at `path` (its directory must exist).
    static Result<std::unique_ptr<ExecChannel>> listen(const std::string& path);
    // A client's connection (lightvm-oci exec). Long paths work for both.
    static Result<int> connect(const std::string& path);
    ~ExecChannel();
    ExecChannel(const ExecChannel&) = delete;
    ExecChannel& operator=(const ExecChannel&) = delete;

    // Starts the accepting thread; `ring` tells the running guest there is
    // news (request_exec_news); it may be called before the guest runs.
    void start(std::function<void()> ring);
    // kHcExec, on the vCPU thread. A bad guest range or op is a GuestFault.
    Result<void> hypercall(GuestMemory& mem, NetDevice* net, uint64_t arg_gpa);

private:
    struct Client {
        int fd = -1;
        bool started = false;  // handed to the guest
        bool ended = false;    // its exit reported: no more signals
    };
    struct Item {
        uint32_t id;
        abi::ExecKind kind;
        int signal = 0;
        std::vector<char> request;  // kExecStart: header + strings
        int stdio[3] = {-1, -1, -1};
    };
    explicit ExecChannel(int listen_fd) : m_listen(listen_fd) {}
    void serve();
    void accept_one();
    void read_client(uint32_t id);
    void queue(Item item);  // under m_lock
    int64_t take(GuestMemory& mem, NetDevice* net, uint64_t buf, uint64_t len);
    int64_t done(uint32_t id, int32_t status);

    int m_listen = -1;
    int m_wake[2] = {-1, -1};  // the vCPU thread wakes the server (a client to drop)
    std::thread m_thread;
    std::function<void()> m_ring;
    std::mutex m_lock;
    std::map<uint32_t, Client> m_clients;
    std::deque<Item> m_queue;
    uint32_t m_next_id = 1;
    bool m_stop = false;
};

}  // namespace lightvm
