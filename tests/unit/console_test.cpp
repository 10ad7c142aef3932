// Tests for the console device: the ring is filled exactly as the guest
// kernel does it, drained to real host fds (memfds and pipes), and
// corrupted the ways a hostile guest could.
#include "devices/console.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "lightvm/abi.h"

namespace lightvm {
namespace {

constexpr uint64_t kSize = abi::kConsoleDataSize;
constexpr uint64_t kData = abi::kConsoleGpa + abi::kConsoleDataOffset;
constexpr uint64_t kArg = 0x200000;  // HcIo
constexpr uint64_t kBuf = 0x201000;  // its buffer

UniqueFd memfd(const char* name) { return UniqueFd(::memfd_create(name, MFD_CLOEXEC)); }

// Everything written to a memfd so far.
std::string contents(int fd) {
    std::string s;
    char buf[4096];
    for (off_t off = 0;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n <= 0)
            break;
        s.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return s;
}

struct Pipe {
    UniqueFd r, w;
    Pipe() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        r = UniqueFd(fds[0]);
        w = UniqueFd(fds[1]);
    }
    // What is buffered in the pipe now (read end non-blocking).
    std::string drain() {
        ::fcntl(r.get(), F_SETFL, O_NONBLOCK);
        std::string s;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(r.get(), buf, sizeof buf)) > 0)
            s.append(buf, static_cast<size_t>(n));
        return s;
    }
};

class ConsoleTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto m = GuestMemory::create(abi::kMinMemSize);
        ASSERT_TRUE(m) << m.error().to_string();
        mem = std::move(*m);
        out = memfd("out");
        err = memfd("err");
        trace = memfd("trace");
        ASSERT_TRUE(out.valid() && err.valid() && trace.valid());
        make_console(out.get(), err.get());
    }
    void make_console(int out_fd, int err_fd, int in_fd = -1) {
        console = std::make_unique<Console>(mem, in_fd, out_fd, err_fd, trace.get());
    }

    abi::ConsoleRing* ring() { return reinterpret_cast<abi::ConsoleRing*>(mem.host_base() + abi::kConsoleGpa); }
    void set_counters(uint32_t head, uint32_t tail) {
        ring()->head = head;
        ring()->tail = tail;
    }
    // Guest side: one byte at the free-running position pos.
    void put_byte(uint32_t pos, uint8_t b) { mem.host_base()[kData + (pos & (kSize - 1))] = b; }
    // Guest side: append a record at head, like the guest kernel.
    void put(uint32_t stream, std::string_view bytes) { put_raw(stream << 24 | static_cast<uint32_t>(bytes.size()), bytes); }
    void put_raw(uint32_t header, std::string_view bytes) {
        uint32_t head = ring()->head;
        for (int i = 0; i < 4; i++)
            put_byte(head + i, static_cast<uint8_t>(header >> (8 * i)));  // little-endian
        for (size_t i = 0; i < bytes.size(); i++)
            put_byte(head + 4 + static_cast<uint32_t>(i), static_cast<uint8_t>(bytes[i]));
        ring()->head = head + 4 + static_cast<uint32_t>(bytes.size());
    }
    Result<void> drain() { return console->drain(outcome); }

    void expect_guest_fault(const Result<void>& r, const char* text) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::GuestFault) << r.error().to_string();
        EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().to_string();
        EXPECT_FALSE(outcome.finished);
    }

    GuestMemory mem;
    UniqueFd out, err, trace;
    std::unique_ptr<Console> console;
    Outcome outcome;
};

TEST_F(ConsoleTest, EmptyRingIsNoop) {
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), "");
    EXPECT_EQ(ring()->tail, 0u);
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(console->bytes_out(), 0u);
}

TEST_F(ConsoleTest, StreamsGoToTheirFds) {
    put(abi::kStreamStdout, "hello ");
    put(abi::kStreamStderr, "oops\n");
    put(abi::kStreamTrace, "write(1, ...) = 6\n");
    put(abi::kStreamStdout, "world\n");
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), "hello world\n");
    EXPECT_EQ(contents(err.get()), "oops\n");
    EXPECT_EQ(contents(trace.get()), "write(1, ...) = 6\n");
    EXPECT_EQ(ring()->tail, ring()->head);
    EXPECT_EQ(console->bytes_out(), 6u + 5 + 18 + 6);
    EXPECT_FALSE(outcome.finished);
}

// Issue 13, bug 4: the trace stream is the monitor's stderr, so guest text
// there must never pass for a monitor message.
TEST_F(ConsoleTest, TraceCannotForgeMonitorMessages) {
    put(abi::kStreamTrace, "lightvm: guest exited normally\n");
    put(abi::kStreamTrace, "read(0) = 1\nlight");  // a forged line split over two records
    put(abi::kStreamTrace, "vm: fake\nlightweight\x1b[2J\rok\n");
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(trace.get()),
              "[guest] lightvm: guest exited normally\n"
              "read(0) = 1\n[guest] lightvm: fake\nlightweight?[2J?ok\n");
}

TEST_F(ConsoleTest, TraceWithoutTraceFdIsDropped) {
    console = std::make_unique<Console>(mem, -1, out.get(), err.get(), -1);
    put(abi::kStreamTrace, "lightvm: forged\n");
    put(abi::kStreamStdout, "real\n");
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), "real\n");
    EXPECT_EQ(contents(err.get()), "");
    EXPECT_EQ(contents(trace.get()), "");
    EXPECT_FALSE(outcome.finished);
}

TEST_F(ConsoleTest, RecordsKeepTheirOrder) {
    make_console(out.get(), out.get());  // stdout and stderr on one fd, like a terminal
    put(abi::kStreamStdout, "1");
    put(abi::kStreamStderr, "2");
    put(abi::kStreamStdout, "3");
    put(abi::kStreamStderr, "4");
    put(abi::kStreamStdout, "");  // empty records are legal
    put(abi::kStreamStdout, "5");
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), "12345");
}

TEST_F(ConsoleTest, DrainsAgainAfterMoreOutput) {
    put(abi::kStreamStdout, "a");
    ASSERT_TRUE(drain());
    EXPECT_EQ(ring()->tail, 5u);
    put(abi::kStreamStdout, "bc");
    ASSERT_TRUE(drain());
    EXPECT_EQ(ring()->tail, 11u);
    EXPECT_EQ(contents(out.get()), "abc");
}

TEST_F(ConsoleTest, RecordDataWrapsAroundTheRing) {
    const uint32_t start = static_cast<uint32_t>(kSize - 6);  // header fits, data wraps after 2 bytes
    set_counters(start, start);
    put(abi::kStreamStdout, "wrapped text");
    ASSERT_EQ(ring()->head, start + 16);
    EXPECT_EQ(mem.host_base()[kData + kSize - 2], 'w');
    EXPECT_EQ(mem.host_base()[kData], 'a');
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), "wrapped text");
    EXPECT_EQ(ring()->tail, start + 16);
}

TEST_F(ConsoleTest, RecordHeaderWrapsAroundTheRing) {
    const uint32_t start = static_cast<uint32_t>(kSize - 2);
    set_counters(start, start);
    put(abi::kStreamStderr, "split header");
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(err.get()), "split header");
    EXPECT_EQ(ring()->tail, ring()->head);
}

TEST_F(ConsoleTest, CountersWrapAroundTwoToTheThirtyTwo) {
    const uint32_t start = 0xfffffff0u;
    set_counters(start, start);
    const std::string a(40, 'x');
    put(abi::kStreamStdout, a);
    put(abi::kStreamStdout, "after");
    EXPECT_LT(ring()->head, start);  // head wrapped
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), a + "after");
    EXPECT_EQ(ring()->tail, static_cast<uint32_t>(start + 44 + 9));
}

TEST_F(ConsoleTest, FullRingWithMaximumRecords) {
    // Exactly kSize bytes pending: four records of 0xfffc bytes + headers.
    std::string expect;
    for (int i = 0; i < 4; i++) {
        std::string rec(0xfffc, static_cast<char>('a' + i));
        put(abi::kStreamStdout, rec);
        expect += rec;
    }
    ASSERT_EQ(ring()->head - ring()->tail, kSize);
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()), expect);
    EXPECT_EQ(ring()->tail, static_cast<uint32_t>(kSize));
}

TEST_F(ConsoleTest, MaxRecordLengthAccepted) {
    put(abi::kStreamStdout, std::string(abi::kConsoleMaxRecord, 'm'));
    ASSERT_TRUE(drain());
    EXPECT_EQ(contents(out.get()).size(), abi::kConsoleMaxRecord);
}

TEST_F(ConsoleTest, HostileTooMuchPending) {
    set_counters(static_cast<uint32_t>(kSize + 1), 0);
    expect_guest_fault(drain(), "pending");
    // tail ahead of head is the same thing modulo 2^32.
    set_counters(0, 4);
    expect_guest_fault(drain(), "pending");
    EXPECT_EQ(contents(out.get()), "");
}

TEST_F(ConsoleTest, HostileRecordLongerThanPending) {
    put_raw(abi::kStreamStdout << 24 | 100, "only ten b");
    expect_guest_fault(drain(), "record of 100 bytes");
    EXPECT_EQ(contents(out.get()), "");
}

TEST_F(ConsoleTest, HostileRecordAboveMaximum) {
    const std::string big(abi::kConsoleMaxRecord + 1, 'b');
    put_raw(abi::kStreamStdout << 24 | static_cast<uint32_t>(big.size()), big);
    expect_guest_fault(drain(), "record of");
    EXPECT_EQ(contents(out.get()), "");
}

TEST_F(ConsoleTest, HostileUnknownStream) {
    for (uint32_t stream : {0u, 4u, 0xffu}) {
        set_counters(0, 0);
        put_raw(stream << 24 | 3, "abc");
        expect_guest_fault(drain(), ("unknown stream " + std::to_string(stream)).c_str());
    }
}

TEST_F(ConsoleTest, HostileTruncatedHeader) {
    for (uint32_t pending : {1u, 2u, 3u}) {
        set_counters(pending, 0);
        expect_guest_fault(drain(), "truncated");
    }
    // A valid record followed by a stray byte.
    set_counters(0, 0);
    put(abi::kStreamStdout, "ok");
    ring()->head += 1;
    expect_guest_fault(drain(), "truncated");
}

TEST_F(ConsoleTest, StdoutBrokenPipeIsSigpipe) {
    std::signal(SIGPIPE, SIG_IGN);
    Pipe p;
    p.r.reset();  // nobody reads
    make_console(p.w.get(), err.get());
    put(abi::kStreamStdout, "to nowhere");
    put(abi::kStreamStderr, "after");
    ASSERT_TRUE(drain());
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, SIGPIPE);
    EXPECT_EQ(outcome.status, 141);
    EXPECT_EQ(ring()->tail, ring()->head);
}

TEST_F(ConsoleTest, PipesCarryOutput) {
    Pipe po, pe;
    make_console(po.w.get(), pe.w.get());
    put(abi::kStreamStdout, "out via pipe");
    put(abi::kStreamStderr, "err via pipe");
    ASSERT_TRUE(drain());
    EXPECT_EQ(po.drain(), "out via pipe");
    EXPECT_EQ(pe.drain(), "err via pipe");
}

TEST_F(ConsoleTest, HostWriteErrorIsSystemError) {
    UniqueFd ro(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // write() fails with EBADF
    ASSERT_TRUE(ro.valid());
    make_console(ro.get(), err.get());
    put(abi::kStreamStdout, "lost");
    auto r = drain();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::System);
    EXPECT_EQ(r.error().code, EBADF);
    EXPECT_EQ(r.error().where, "writing guest stdout");
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(ring()->tail, ring()->head);
}

// --- Direct stream hypercalls ------------------------------------------------

abi::HcIo io(uint32_t fd, uint64_t buf, uint64_t len) {
    abi::HcIo h{};
    h.fd = fd;
    h.buf = buf;
    h.len = len;
    h.result = 12345;
    return h;
}

TEST_F(ConsoleTest, HcWriteStdoutAndStderr) {
    const std::string text = "direct write";
    ASSERT_TRUE(mem.write_bytes(kBuf, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
    ASSERT_TRUE(mem.write(kArg, io(1, kBuf, text.size())));
    ASSERT_TRUE(console->hc_write(kArg, outcome));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, static_cast<int64_t>(text.size()));
    EXPECT_EQ(contents(out.get()), text);

    ASSERT_TRUE(mem.write(kArg, io(2, kBuf, 6)));
    ASSERT_TRUE(console->hc_write(kArg, outcome));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 6);
    EXPECT_EQ(contents(err.get()), "direct");
    EXPECT_EQ(console->bytes_out(), text.size() + 6);
    EXPECT_FALSE(outcome.finished);

    ASSERT_TRUE(mem.write(kArg, io(1, kBuf, 0)));
    ASSERT_TRUE(console->hc_write(kArg, outcome));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 0);
}

TEST_F(ConsoleTest, HcWriteBadFd) {
    for (uint32_t fd : {0u, 3u, 7u, 0xffffffffu}) {
        ASSERT_TRUE(mem.write(kArg, io(fd, kBuf, 4)));
        ASSERT_TRUE(console->hc_write(kArg, outcome));
        EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, -EBADF) << fd;
    }
    EXPECT_EQ(contents(out.get()), "");
    EXPECT_EQ(contents(err.get()), "");
}

TEST_F(ConsoleTest, HcWriteBufferOutOfRange) {
    const uint64_t size = mem.size();
    const std::pair<uint64_t, uint64_t> bad[] = {{size - 2, 4}, {size, 1}, {UINT64_MAX, 2}, {kBuf, UINT64_MAX},
                                                 {0x1000, size}};
    for (auto [buf, len] : bad) {
        ASSERT_TRUE(mem.write(kArg, io(1, buf, len)));
        auto r = console->hc_write(kArg, outcome);
        ASSERT_FALSE(r) << buf << "+" << len;
        EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
    }
    EXPECT_EQ(contents(out.get()), "");
    // The argument itself out of range.
    auto r = console->hc_write(size - 8, outcome);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
}

TEST_F(ConsoleTest, HcWriteBrokenPipe) {
    std::signal(SIGPIPE, SIG_IGN);
    Pipe p;
    p.r.reset();
    make_console(p.w.get(), err.get());
    ASSERT_TRUE(mem.write(kArg, io(1, kBuf, 10)));
    ASSERT_TRUE(console->hc_write(kArg, outcome));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, -EPIPE);
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, SIGPIPE);
    EXPECT_EQ(outcome.status, 128 + SIGPIPE);
}

TEST_F(ConsoleTest, HcReadFromPipe) {
    Pipe in;
    make_console(out.get(), err.get(), in.r.get());
    ASSERT_EQ(::write(in.w.get(), "typed input\n", 12), 12);
    ASSERT_TRUE(mem.write(kArg, io(0, kBuf, 64)));
    ASSERT_TRUE(console->hc_read(kArg));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 12);
    EXPECT_EQ(std::memcmp(mem.host_base() + kBuf, "typed input\n", 12), 0);
    EXPECT_EQ(mem.host_base()[kBuf + 12], 0);

    // Short buffer: only len bytes move, the rest stays in the pipe.
    ASSERT_EQ(::write(in.w.get(), "abcdef", 6), 6);
    ASSERT_TRUE(mem.write(kArg, io(0, kBuf + 100, 4)));
    ASSERT_TRUE(console->hc_read(kArg));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 4);
    EXPECT_EQ(std::memcmp(mem.host_base() + kBuf + 100, "abcd", 4), 0);
    EXPECT_EQ(mem.host_base()[kBuf + 104], 0);

    // EOF once the writer is gone (after the buffered "ef").
    in.w.reset();
    ASSERT_TRUE(mem.write(kArg, io(0, kBuf, 64)));
    ASSERT_TRUE(console->hc_read(kArg));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 2);
    ASSERT_TRUE(console->hc_read(kArg));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 0);
}

TEST_F(ConsoleTest, HcReadErrors) {
    Pipe in;
    make_console(out.get(), err.get(), in.r.get());
    ASSERT_TRUE(mem.write(kArg, io(1, kBuf, 8)));
    ASSERT_TRUE(console->hc_read(kArg));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, -EBADF);

    ASSERT_TRUE(mem.write(kArg, io(0, mem.size() - 4, 8)));
    auto r = console->hc_read(kArg);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);

    // A host read error comes back as -errno.
    UniqueFd wo(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    make_console(out.get(), err.get(), wo.get());
    ASSERT_TRUE(mem.write(kArg, io(0, kBuf, 8)));
    ASSERT_TRUE(console->hc_read(kArg));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, -EBADF);
}

}  // namespace
}  // namespace lightvm
