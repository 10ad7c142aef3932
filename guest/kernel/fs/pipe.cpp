#include "kernel/fs/pipe.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/memory.hpp"

namespace lightvm::guest {

struct Pipe {
    bool used;
    bool reader, writer;
    uint32_t head, tail;  // free-running
    uint8_t* data;  // kCap bytes from guest RAM on first use, kept for reuse
};

namespace {
constexpr int kMaxPipes = 16;
constexpr uint32_t kCap = 65536;  // Linux's default pipe capacity
Pipe g_pipes[kMaxPipes];
}  // namespace

Pipe* pipe_create() {
    for (auto& p : g_pipes) {
        if (p.used)
            continue;
        if (!p.data) {
            long addr = mem_mmap(0, kCap, 3, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */);
            if (addr < 0)
                return nullptr;
            p.data = reinterpret_cast<uint8_t*>(addr);
        }
        p.used = p.reader = p.writer = true;
        p.head = p.tail = 0;
        return &p;
    }
    return nullptr;
}

size_t pipe_available(const Pipe* p) { return p->head - p->tail; }
bool pipe_readable(const Pipe* p) { return p->head != p->tail || !p->writer; }

long pipe_read(Pipe* p, void* buf, size_t len) {
    uint32_t avail = p->head - p->tail;
    if (avail == 0)
        return p->writer ? -err::kAgain : 0;  // EOF once the write end is closed
    size_t n = len < avail ? len : avail;
    auto* out = static_cast<uint8_t*>(buf);
    for (size_t i = 0; i < n; ++i)
        out[i] = p->data[(p->tail + i) % kCap];
    p->tail += static_cast<uint32_t>(n);
    return static_cast<long>(n);
}

long pipe_write(Pipe* p, const void* buf, size_t len) {
    if (!p->reader)
        return -err::kPipe;
    uint32_t space = kCap - (p->head - p->tail);
    if (space == 0)
        return len ? -err::kAgain : 0;
    size_t n = len < space ? len : space;
    auto* in = static_cast<const uint8_t*>(buf);
    for (size_t i = 0; i < n; ++i)
        p->data[(p->head + i) % kCap] = in[i];
    p->head += static_cast<uint32_t>(n);
    return static_cast<long>(n);
}

void pipe_close_end(Pipe* p, bool write_end) {
    if (write_end)
        p->writer = false;
    else
        p->reader = false;
    if (!p->reader && !p->writer)
        p->used = false;
}

}  // namespace lightvm::guest
