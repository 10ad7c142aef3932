#include "kernel/dev/console.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {

namespace {

volatile abi::ConsoleRing* g_ring;
uint8_t* g_data;
uint32_t g_size;
uint32_t g_mask;

uint32_t ring_free() {
    uint32_t head = g_ring->head;
    uint32_t tail = __atomic_load_n(&g_ring->tail, __ATOMIC_ACQUIRE);
    return g_size - (head - tail);
}

void put(uint32_t pos, const uint8_t* src, uint32_t n) {
    uint32_t off = pos & g_mask;
    uint32_t first = n < g_size - off ? n : g_size - off;
    memcpy(g_data + off, src, first);
    memcpy(g_data, src + first, n - first);
}

void append_record(unsigned stream, const uint8_t* data, uint32_t len) {
    if (ring_free() < len + 4)
        console_flush();
    uint32_t head = g_ring->head;
    uint32_t header = (uint32_t(stream) << 24) | len;
    put(head, reinterpret_cast<const uint8_t*>(&header), 4);
    put(head + 4, data, len);
    // Publish the bytes before the new head (x86 is TSO; this is a compiler barrier + intent).
    __atomic_store_n(&g_ring->head, head + 4 + len, __ATOMIC_RELEASE);
}

bool is_tty(unsigned stream) {
    uint32_t f = boot().flags;
    return (stream == abi::kStreamStdout && (f & abi::kBootStdoutTty)) ||
           (stream == abi::kStreamStderr && (f & abi::kBootStderrTty));
}

}  // namespace

void console_init() {
    g_ring = reinterpret_cast<volatile abi::ConsoleRing*>(boot().console_gpa);
    g_data = reinterpret_cast<uint8_t*>(boot().console_gpa + abi::kConsoleDataOffset);
    g_size = static_cast<uint32_t>(boot().console_size);
    g_mask = g_size - 1;
}

void console_flush() {
    hypercall(abi::kHcConsoleFlush, nullptr);
}

long console_write(unsigned stream, const void* data, size_t len) {
    auto* p = static_cast<const uint8_t*>(data);
    // Big writes: one exit moving the bytes straight from the caller's buffer.
    if (len >= g_size / 4 && stream != abi::kStreamTrace) {
        // No flush first: the monitor drains the ring at every exit, before
        // it handles the hypercall, so ordering is kept for free.
        return for_each_phys(p, len, [&](uint64_t gpa, uint64_t n) {
            volatile abi::HcIo io{};
            io.fd = stream;
            io.buf = gpa;
            io.len = n;
            hypercall(abi::kHcWrite, &io);
            return static_cast<long>(io.result);
        });
    }
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done;
        uint32_t max = g_size / 4 < abi::kConsoleMaxRecord ? g_size / 4 : abi::kConsoleMaxRecord;
        if (chunk > max)
            chunk = max;
        append_record(stream, p + done, static_cast<uint32_t>(chunk));
        done += chunk;
    }
    if (is_tty(stream))
        console_flush();
    return static_cast<long>(len);
}

}  // namespace lightvm::guest
