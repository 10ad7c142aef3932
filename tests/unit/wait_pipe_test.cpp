// Hosted tests of the guest kernel's wait queues (proc/wait.cpp) and pipe
// file objects (fs/pipe.cpp), built for the host. The scheduler is
// replaced by a stand-in: "blocking" runs what another task would do
// meanwhile (a queued action), so the sleep/wake logic runs for real.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <poll.h>
#include <stdexcept>
#include <vector>

#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/proc/wait.hpp"

namespace lightvm::guest {

// --- stand-ins for the parts of the kernel these files call -----------------
namespace {
std::vector<std::function<void()>> g_others;  // what other tasks do while we sleep
int g_blocks;
std::vector<Task*> g_woken;
bool g_signal;   // signal_pending's answer
int g_sigpipes;  // SIGPIPEs sent
struct VmExit : std::runtime_error {
    int status;
    explicit VmExit(int s) : std::runtime_error("exit_vm"), status(s) {}
};
}  // namespace

void sched_block(uint64_t) {
    ++g_blocks;
    if (g_others.empty())
        throw std::runtime_error("would sleep forever: nobody else can run");
    auto next = g_others.front();
    g_others.erase(g_others.begin());
    next();
}
void sched_wake(Task* t) { g_woken.push_back(t); }
bool deadline_passed(uint64_t) { return false; }
long synthetic_stat(Stat* out, uint64_t dev, uint64_t ino, uint32_t mode, uint64_t) {
    std::memset(out, 0, sizeof *out);
    out->dev = dev;
    out->ino = ino;
    out->mode = mode;
    return 0;
}
[[noreturn]] void exit_vm(int status, unsigned) { throw VmExit(status); }
bool signal_pending(const Task*) { return g_signal; }
long signal_epipe() {
    ++g_sigpipes;
    return -err::kPipe;
}

namespace {

Task g_task{};
Process g_process{};
AddressSpace g_as{};

class KernelTest : public ::testing::Test {
protected:
    void SetUp() override {
        g_others.clear();
        g_woken.clear();
        g_blocks = 0;
        g_signal = false;
        g_sigpipes = 0;
        // Pipe buffers are kernel memory (mm/kmem.hpp; malloc in these tests).
        g_process.mm = &g_as;
        g_task.process = &g_process;
        this_cpu().current = &g_task;
    }
};

using WaitQueueTest = KernelTest;

TEST_F(WaitQueueTest, WakeUpWakesEveryWaiterOnce) {
    WaitQueue q{};
    Task a{}, b{};
    WaitEntry ea{}, eb{};
    wait_add(q, ea, &a);
    wait_add(q, eb, &b);
    wake_up(q);
    EXPECT_EQ(g_woken, (std::vector<Task*>{&b, &a}));
    wait_remove(ea);
    g_woken.clear();
    wake_up(q);
    EXPECT_EQ(g_woken, std::vector<Task*>{&b});
    wait_remove(eb);
    EXPECT_TRUE(wait_queue_empty(q));
    wait_remove(eb);  // twice is harmless
}

TEST_F(WaitQueueTest, WaitEventChecksFirstThenSleepsUntilTheConditionHolds) {
    WaitQueue q{};
    bool ready = true;
    EXPECT_EQ(wait_event(q, [&] { return ready; }), WaitResult::Ready);
    EXPECT_EQ(g_blocks, 0) << "no sleep when the condition already holds";

    ready = false;
    int spurious = 0;
    g_others.push_back([&] { ++spurious; });            // woken for nothing: sleeps again
    g_others.push_back([&] { ready = true; wake_up(q); });
    EXPECT_EQ(wait_event(q, [&] { return ready; }), WaitResult::Ready);
    EXPECT_EQ(g_blocks, 2);
    EXPECT_EQ(spurious, 1);
    EXPECT_TRUE(wait_queue_empty(q)) << "the entry is gone once the wait is over";
}

// --- pipes --------------------------------------------------------------------

class PipeTest : public KernelTest {
protected:
    void SetUp() override {
        KernelTest::SetUp();
        m_pipe = pipe_create();
        ASSERT_NE(m_pipe, nullptr);
        m_r = OpenFile{};
        m_r.kind = FileKind::PipeRead;
        m_r.ops = &kPipeReadOps;
        m_r.pipe = m_pipe;
        m_w = OpenFile{};
        m_w.kind = FileKind::PipeWrite;
        m_w.ops = &kPipeWriteOps;
        m_w.flags = 1;
        m_w.pipe = m_pipe;
    }
    void TearDown() override {
        if (m_r.pipe)
            m_r.ops->release(&m_r);
        if (m_w.pipe)
            m_w.ops->release(&m_w);
    }
    long read(void* buf, size_t n) { return m_r.ops->read(&m_r, buf, n, -1); }
    long write(const void* buf, size_t n) { return m_w.ops->write(&m_w, buf, n, -1); }
    void close_write() {
        m_w.ops->release(&m_w);
        m_w.pipe = nullptr;
    }
    void close_read() {
        m_r.ops->release(&m_r);
        m_r.pipe = nullptr;
    }

    Pipe* m_pipe = nullptr;
    OpenFile m_r{}, m_w{};
};

TEST_F(PipeTest, DataComesOutInOrder) {
    EXPECT_EQ(write("hello ", 6), 6);
    EXPECT_EQ(write("world", 5), 5);
    EXPECT_EQ(pipe_available(m_pipe), 11u);
    char buf[32] = {};
    EXPECT_EQ(read(buf, 4), 4);
    EXPECT_EQ(read(buf + 4, sizeof buf - 4), 7);
    EXPECT_STREQ(buf, "hello world");
    EXPECT_EQ(g_blocks, 0);
}

TEST_F(PipeTest, EmptyReadBlocksUntilAWriterComes) {
    g_others.push_back([&] { write("late", 4); });
    char buf[8] = {};
    EXPECT_EQ(read(buf, sizeof buf), 4);
    EXPECT_EQ(g_blocks, 1);
    EXPECT_STREQ(buf, "late");
}

TEST_F(PipeTest, NonBlockingEmptyReadIsEagain) {
    m_r.flags |= 04000;  // O_NONBLOCK
    char c;
    EXPECT_EQ(read(&c, 1), -err::kAgain);
    EXPECT_EQ(g_blocks, 0);
}

TEST_F(PipeTest, LastWriterGoneMeansEofAndHup) {
    g_others.push_back([&] { close_write(); });
    char c;
    EXPECT_EQ(read(&c, 1), 0) << "a sleeping reader sees EOF when the writer closes";
    EXPECT_EQ(m_r.ops->poll(&m_r), POLLHUP);
}

TEST_F(PipeTest, FullPipeWriteBlocksUntilThereIsRoom) {
    std::vector<char> big(65536, 'x');
    EXPECT_EQ(write(big.data(), big.size()), 65536);
    EXPECT_EQ(m_w.ops->poll(&m_w), 0) << "full: not writable";
    std::vector<char> sink(100);
    g_others.push_back([&] { read(sink.data(), sink.size()); });
    EXPECT_EQ(write("abc", 3), 3);
    EXPECT_EQ(g_blocks, 1);
    m_w.flags |= 04000;
    EXPECT_EQ(write(big.data(), 200), 97) << "non-blocking: what fits";
    EXPECT_EQ(write(big.data(), 1), -err::kAgain);
}

TEST_F(PipeTest, WriteWithoutReaderIsEpipeAndSigpipe) {
    close_read();
    EXPECT_EQ(write("x", 1), -err::kPipe);
    EXPECT_EQ(g_sigpipes, 1) << "SIGPIPE goes to the writer (its default action ends it)";
    EXPECT_EQ(m_w.ops->poll(&m_w), POLLERR | POLLOUT);  // room, but nobody reads (Linux's pipe_poll)
}

// A signal ends a blocked read or write: nothing done yet is -ERESTARTSYS
// (EINTR or a restart, decided at the syscall exit), a partial write counts.
TEST_F(PipeTest, SignalInterruptsBlockedReadAndWrite) {
    g_others.push_back([] { g_signal = true; });
    char buf[8];
    EXPECT_EQ(read(buf, sizeof buf), -ERESTARTSYS);
    EXPECT_EQ(g_blocks, 1);
    std::vector<char> big(70000, 'z');
    g_signal = false;
    g_others.push_back([] { g_signal = true; });
    EXPECT_EQ(write(big.data(), big.size()), 65536) << "what was written before the signal";
}

TEST_F(PipeTest, PollReportsReadiness) {
    EXPECT_EQ(m_r.ops->poll(&m_r), 0);
    EXPECT_EQ(m_w.ops->poll(&m_w), POLLOUT);
    write("a", 1);
    EXPECT_EQ(m_r.ops->poll(&m_r), POLLIN);
    EXPECT_NE(m_r.ops->wait_queue(&m_r), nullptr);
    EXPECT_NE(m_r.ops->wait_queue(&m_r), m_w.ops->wait_queue(&m_w)) << "readers and writers sleep apart";
}

}  // namespace
}  // namespace lightvm::guest
