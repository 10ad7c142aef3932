#include "kernel/exec/exec_tty.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/net/sock_uapi.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/tty/pty.hpp"
#include "kernel/tty/pty_ioctl.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr int kMaxPumps = 16;  // the monitor's kMaxExecClients

struct Pump {
    uint32_t exec_id;
    OpenFile* master;      // the kernel's reference
    OpenFile* in;          // the client's keys (O_NONBLOCK)
    OpenFile* out;         // the terminal's output, to the client
    bool in_eof;
    uint32_t typed_off, typed_len;  // keys the master could not take yet
    WaitEntry relay;       // on the master's queue: wakes the one the thread sleeps on
    uint8_t typed[4096];
    uint8_t shown[4096];
};

Pump* g_pumps[kMaxPumps];

struct PendingSize {
    uint32_t exec_id;
    uint16_t rows, cols;
};
PendingSize g_sizes[kMaxPumps];  // resizes that came before their process's terminal

Pump* pump_of_socket(const Socket* s) {
    for (Pump* p : g_pumps)
        if (p && p->in->sock == s)
            return p;
    return nullptr;
}

// Something for the thread to do on the master's side.
bool master_ready(const Pump* p) {
    const int ev = file_poll(p->master);
    return (ev & (POLLIN | POLLHUP)) || (p->typed_len && (ev & POLLOUT));
}

bool master_ready_for(const Socket* s) {
    const Pump* p = pump_of_socket(s);
    return p && master_ready(p);
}

// The master's queue woke: so must the input socket's, where the thread
// sleeps while it waits for keys (wake functions may wake other queues).
void relay_wake(WaitEntry* e) {
    auto* p = reinterpret_cast<Pump*>(reinterpret_cast<char*>(e) - offsetof(Pump, relay));
    wake_up(p->in->sock->wq);
}

void send_all(Pump* p, const uint8_t* buf, size_t len) {
    for (size_t off = 0; off < len;) {
        long w = sock_send(p->out, buf + off, len - off, MSG_NOSIGNAL, nullptr, nullptr, 0);
        if (w <= 0)
            return;  // the client went away: the output is dropped, the terminal goes on
        off += static_cast<size_t>(w);
    }
}

// One round of copying both ways. Returns false once the terminal is
// finished (every slave closed and its output drained).
bool copy_round(Pump* p, bool* moved) {
    long n = file_read(p->master, p->shown, sizeof p->shown, -1);
    if (n == -err::kIo)
        return false;
    if (n > 0) {
        send_all(p, p->shown, static_cast<size_t>(n));
        *moved = true;
    }
    if (!p->in_eof && !p->typed_len) {
        bool trunc;
        long r = sock_recv(p->in, p->typed, sizeof p->typed, 0, nullptr, &trunc);
        if (r > 0) {
            p->typed_off = 0;
            p->typed_len = static_cast<uint32_t>(r);
        } else if (r != -err::kAgain) {
            p->in_eof = true;  // the client's input ended: the terminal stays (as a closed keyboard)
        }
    }
    if (p->typed_len) {
        long w = file_write(p->master, p->typed + p->typed_off, p->typed_len, -1);
        if (w > 0) {
            p->typed_off += static_cast<uint32_t>(w);
            p->typed_len -= static_cast<uint32_t>(w);
            *moved = true;
        }
    }
    return true;
}

void wait_for_work(Pump* p) {
    if (!p->in_eof && !p->typed_len) {  // keys or the master
        host_wait(p->in->sock, POLLIN, 0, master_ready_for);
        return;
    }
    wait_event(*file_wait_queue(p->master), [p] { return master_ready(p); });
}

void unregister(Pump* p) {
    for (Pump*& slot : g_pumps)
        if (slot == p)
            slot = nullptr;
}

void pump_main(void* arg) {
    auto* p = static_cast<Pump*>(arg);
    for (;;) {
        bool moved = false;
        if (!copy_round(p, &moved))
            break;
        if (!moved)
            wait_for_work(p);
    }
    wait_remove(p->relay);
    unregister(p);
    file_put(p->master);  // hangs the (already unused) slave up
    file_put(p->in);
    file_put(p->out);  // the client sees the end of the output
    kmem_free(p, sizeof *p);
}

// A host socket as an open file of the kernel's own (no descriptor).
OpenFile* socket_file(uint32_t handle, uint32_t flags) {
    Socket* s = sock_alloc(AF_UNIX, SOCK_STREAM);
    OpenFile* f = s ? file_alloc(FileKind::Socket, O_RDWR | flags) : nullptr;
    if (!f) {
        if (s)
            sock_put(s);
        host_close(handle);
        return nullptr;
    }
    s->host = true;
    s->handle = handle;
    s->state = SockState::Connected;
    s->bound = true;
    s->revents = POLLOUT;
    f->sock = s;
    return f;
}

// The slave as fds 0, 1 and 2: opened by the process (a session leader
// without a terminal), so it is its controlling terminal.
bool install_slave(Pty* t) {
    OpenFile* slave;
    if (pty_open_slave(t, O_RDWR, &slave) < 0)
        return false;
    file_get(slave);
    file_get(slave);
    bool ok = true;
    for (long fd = 0; fd < 3; ++fd)
        if (fd_install_at(slave, fd, false) != fd) {
            file_put(slave);
            ok = false;
        }
    return ok;
}

void apply_pending_size(Pump* p) {
    for (PendingSize& s : g_sizes)
        if (s.exec_id == p->exec_id) {
            pty_resize(pty_of(p->master), s.rows, s.cols);
            s = PendingSize{};
        }
}

Pump* new_pump(const abi::ExecRequest& r) {
    int slot = -1;
    for (int i = 0; i < kMaxPumps && slot < 0; ++i)
        if (!g_pumps[i])
            slot = i;
    auto* p = slot >= 0 ? static_cast<Pump*>(kmem_alloc(sizeof(Pump))) : nullptr;
    if (!p)
        return nullptr;
    p->exec_id = r.id;
    if (pty_open_master(O_RDWR | O_NONBLOCK, &p->master) < 0) {
        kmem_free(p, sizeof *p);
        return nullptr;
    }
    pty_of(p->master)->locked = false;
    g_pumps[slot] = p;
    return p;
}

// Undoes new_pump and what setup added (the slave's fds go with the process).
void drop(Pump* p) {
    if (!p)
        return;
    unregister(p);
    OpenFile* files[] = {p->master, p->in, p->out};
    for (OpenFile* f : files)
        if (f)
            file_put(f);
    kmem_free(p, sizeof *p);
}

}  // namespace

bool exec_tty_setup(const abi::ExecRequest& r) {
    host_close(r.stdio[2]);
    Pump* p = new_pump(r);
    const bool slave = p && install_slave(pty_of(p->master));
    if (p) {
        p->in = socket_file(r.stdio[0], O_NONBLOCK);
        p->out = socket_file(r.stdio[1], 0);
    } else {
        host_close(r.stdio[0]);
        host_close(r.stdio[1]);
    }
    if (!slave || !p->in || !p->out) {
        drop(p);
        return false;
    }
    if (r.signal)  // the size the client's terminal had when it asked
        pty_resize(pty_of(p->master), static_cast<uint16_t>(r.signal >> 16), static_cast<uint16_t>(r.signal));
    apply_pending_size(p);
    wait_add_fn(*file_wait_queue(p->master), p->relay, relay_wake);
    Task* t = kthread_create(pump_main, p, "exec-tty");
    if (!t) {
        wait_remove(p->relay);
        drop(p);
        return false;
    }
    t->process = process_first();  // which outlives the exec'd process
    return true;
}

void exec_tty_resize(uint32_t exec_id, uint16_t rows, uint16_t cols) {
    for (Pump* p : g_pumps)
        if (p && p->exec_id == exec_id) {
            pty_resize(pty_of(p->master), rows, cols);
            return;
        }
    PendingSize* free_slot = nullptr;
    for (PendingSize& s : g_sizes) {
        if (s.exec_id == exec_id) {
            s.rows = rows;
            s.cols = cols;
            return;
        }
        if (!s.exec_id && !free_slot)
            free_slot = &s;
    }
    if (free_slot)
        *free_slot = {exec_id, rows, cols};
}

}  // namespace lightvm::guest
