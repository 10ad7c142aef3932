// Tests for handle_exit: hand-built KVM exits against real devices over
// guest memory, with a fake vCPU for registers.
#include "monitor/exit_handler.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "lightvm/abi.h"
#include "monitor/exec_channel.hpp"

namespace lightvm {
namespace {

constexpr uint64_t kArg = 0x200000;    // hypercall argument structs
constexpr uint64_t kFrame = 0x300000;  // fake fault frame

class FakeCpu final : public CpuAccess {
public:
    Result<kvm::Regs> regs() override {
        if (fail)
            return make_error(ErrorKind::System, "KVM_GET_REGS", "fake failure");
        return r;
    }
    Result<kvm::Sregs> sregs() override {
        if (fail)
            return make_error(ErrorKind::System, "KVM_GET_SREGS", "fake failure");
        return s;
    }
    Result<void> set_sregs(const kvm::Sregs& n) override {
        s = n;
        set_sregs_calls++;
        return {};
    }
    kvm::Regs r{};
    kvm::Sregs s{};
    bool fail = false;
    int set_sregs_calls = 0;
};

std::string contents(int fd) {
    std::string s(4096, '\0');
    ssize_t n = ::pread(fd, s.data(), s.size(), 0);
    s.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return s;
}

kvm::Exit io_exit(uint16_t port, bool out, uint8_t size, uint32_t value, uint32_t count = 1) {
    kvm::Exit e;
    e.kind = kvm::ExitKind::Io;
    e.io_out = out;
    e.port = port;
    e.io_size = size;
    e.io_count = count;
    e.io_value = value;
    return e;
}

kvm::Exit hypercall(unsigned nr, uint32_t arg = kArg) {
    return io_exit(static_cast<uint16_t>(abi::kHypercallPortBase + nr), true, 4, arg);
}

// What the CPL0 stub does: out %al, %dx to the fault port.
kvm::Exit fault_exit() { return io_exit(abi::kFaultPort, true, 1, 14); }

kvm::Exit kind_exit(kvm::ExitKind kind) {
    kvm::Exit e;
    e.kind = kind;
    return e;
}

struct Frame {
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

class ExitHandlerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto m = GuestMemory::create(abi::kMinMemSize);
        ASSERT_TRUE(m) << m.error().to_string();
        mem = std::move(*m);
        out = UniqueFd(::memfd_create("out", MFD_CLOEXEC));
        err = UniqueFd(::memfd_create("err", MFD_CLOEXEC));
        ASSERT_TRUE(out.valid() && err.valid());
        console = std::make_unique<Console>(mem, -1, out.get(), err.get(), err.get());
        system = std::make_unique<SystemDevice>(mem);
        devices = std::make_unique<Devices>(Devices{mem, *console, *system, cpu});
        cpu.r.rip = 0x401234;
        cpu.r.rsp = kFrame;
    }

    Result<void> handle(const kvm::Exit& e) { return handle_exit(*devices, e, outcome, stats); }

    void set_exit_args(int32_t status, uint32_t signal) { ASSERT_TRUE(mem.write(kArg, abi::HcExit{status, signal})); }
    void set_frame(uint64_t vector, uint64_t error, uint64_t rip = 0x401000) {
        ASSERT_TRUE(mem.write(kFrame, Frame{vector, error, rip, abi::kUserCs, 0x202, 0x7ff000, abi::kUserDs}));
    }
    // Guest side of the console ring (see console_test.cpp).
    void put(uint32_t stream, const std::string& text) {
        auto* ring = reinterpret_cast<abi::ConsoleRing*>(mem.host_base() + abi::kConsoleGpa);
        uint8_t* data = mem.host_base() + abi::kConsoleGpa + abi::kConsoleDataOffset;
        uint32_t hdr = stream << 24 | static_cast<uint32_t>(text.size());
        uint32_t head = ring->head;
        for (uint32_t i = 0; i < 4; i++)
            data[(head + i) & (abi::kConsoleDataSize - 1)] = static_cast<uint8_t>(hdr >> (8 * i));
        for (uint32_t i = 0; i < text.size(); i++)
            data[(head + 4 + i) & (abi::kConsoleDataSize - 1)] = static_cast<uint8_t>(text[i]);
        ring->head = head + 4 + static_cast<uint32_t>(text.size());
    }
    void corrupt_ring() {
        auto* ring = reinterpret_cast<abi::ConsoleRing*>(mem.host_base() + abi::kConsoleGpa);
        ring->head = ring->tail + static_cast<uint32_t>(abi::kConsoleDataSize) + 1;
    }
    void expect_guest_fault(const Result<void>& r, const std::string& text) {
        ASSERT_FALSE(r) << "accepted, expected \"" << text << "\"";
        EXPECT_EQ(r.error().kind, ErrorKind::GuestFault) << r.error().to_string();
        EXPECT_NE(r.error().to_string().find(text), std::string::npos) << r.error().to_string();
    }

    GuestMemory mem;
    UniqueFd out, err;
    FakeCpu cpu;
    std::unique_ptr<Console> console;
    std::unique_ptr<SystemDevice> system;
    std::unique_ptr<Devices> devices;
    Outcome outcome;
    ExitStats stats;
};

// --- exit hypercall ------------------------------------------------------------

TEST_F(ExitHandlerTest, ExitSetsStatus) {
    set_exit_args(7, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.status, 7);
    EXPECT_EQ(outcome.signal, 0);
    EXPECT_EQ(outcome.report, "");
    EXPECT_EQ(stats.total, 1u);
    EXPECT_EQ(stats.hypercalls[abi::kHcExit], 1u);
}

TEST_F(ExitHandlerTest, ExitStatusIsLowEightBits) {
    set_exit_args(300, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_EQ(outcome.status, 300 & 0xff);
    outcome = {};
    set_exit_args(-1, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_EQ(outcome.status, 255);
    outcome = {};
    set_exit_args(256, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_EQ(outcome.status, 0);
}

TEST_F(ExitHandlerTest, ExitBySignal) {
    set_exit_args(0, SIGABRT);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, 6);
    EXPECT_EQ(outcome.status, 134);
}

TEST_F(ExitHandlerTest, ExitWithInvalidSignal) {
    set_exit_args(0, 65);
    auto r = handle(hypercall(abi::kHcExit));
    expect_guest_fault(r, "invalid signal 65");
    // GuestFault messages name the hypercall.
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.rfind("hypercall exit: ", 0), 0u) << r.error().message;
    EXPECT_EQ(r.error().where, "exit");
}

TEST_F(ExitHandlerTest, InvalidExitLeavesOutcomeUntouched) {
    set_exit_args(0, 65);
    ASSERT_FALSE(handle(hypercall(abi::kHcExit)));
    ASSERT_FALSE(outcome.finished) << "a rejected exit must not look like a clean exit (status " << outcome.status
                                   << ")";
    // A second, valid exit still works.
    set_exit_args(4, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_EQ(outcome.status, 4);
}

TEST_F(ExitHandlerTest, ExitArgumentOutsideMemory) {
    expect_guest_fault(handle(hypercall(abi::kHcExit, static_cast<uint32_t>(mem.size() - 4))), "outside guest memory");
    EXPECT_FALSE(outcome.finished);
    expect_guest_fault(handle(hypercall(abi::kHcExit, 0xfffffff8u)), "hypercall exit");
}

// --- other hypercalls ----------------------------------------------------------

TEST_F(ExitHandlerTest, ConsoleFlushDrainsTheRing) {
    put(abi::kStreamStdout, "flushed\n");
    ASSERT_TRUE(handle(hypercall(abi::kHcConsoleFlush, 0)));
    EXPECT_EQ(contents(out.get()), "flushed\n");
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(stats.hypercalls[abi::kHcConsoleFlush], 1u);
}

TEST_F(ExitHandlerTest, WriteHypercall) {
    ASSERT_TRUE(mem.write_bytes(kArg + 0x100, {reinterpret_cast<const uint8_t*>("big write"), 9}));
    abi::HcIo io{2, 0, kArg + 0x100, 9, 0};
    ASSERT_TRUE(mem.write(kArg, io));
    ASSERT_TRUE(handle(hypercall(abi::kHcWrite)));
    EXPECT_EQ(contents(err.get()), "big write");
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, 9);
    EXPECT_EQ(stats.hypercalls[abi::kHcWrite], 1u);

    io.buf = mem.size();
    ASSERT_TRUE(mem.write(kArg, io));
    expect_guest_fault(handle(hypercall(abi::kHcWrite)), "hypercall write: ");
}

TEST_F(ExitHandlerTest, SetFsBaseHypercall) {
    ASSERT_TRUE(mem.write(kArg, abi::HcSetFsBase{0x7f0000001000, 99}));
    ASSERT_TRUE(handle(hypercall(abi::kHcSetFsBase)));
    EXPECT_EQ(cpu.s.fs.base, 0x7f0000001000u);
    EXPECT_EQ(cpu.set_sregs_calls, 1);
    EXPECT_EQ(mem.read<abi::HcSetFsBase>(kArg)->result, 0);

    // Non-canonical / kernel-half bases are refused without touching the vCPU.
    ASSERT_TRUE(mem.write(kArg, abi::HcSetFsBase{1ull << 47, 99}));
    ASSERT_TRUE(handle(hypercall(abi::kHcSetFsBase)));
    EXPECT_EQ(mem.read<abi::HcSetFsBase>(kArg)->result, -EPERM);
    EXPECT_EQ(cpu.set_sregs_calls, 1);
    EXPECT_EQ(cpu.s.fs.base, 0x7f0000001000u);
    EXPECT_EQ(stats.hypercalls[abi::kHcSetFsBase], 2u);
}

TEST_F(ExitHandlerTest, SleepHypercall) {
    ASSERT_TRUE(mem.write(kArg, abi::HcSleep{2000000, 99}));
    timespec t0, t1;
    ::clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_TRUE(handle(hypercall(abi::kHcSleep)));
    ::clock_gettime(CLOCK_MONOTONIC, &t1);
    const int64_t ns = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
    EXPECT_GE(ns, 2000000);
    EXPECT_EQ(mem.read<abi::HcSleep>(kArg)->result, 0);
}

TEST_F(ExitHandlerTest, ReadHypercallWithoutStdin) {
    // stdin fd -1: the host read fails and the guest gets -EBADF.
    ASSERT_TRUE(mem.write(kArg, abi::HcIo{0, 0, kArg + 0x100, 16, 0}));
    ASSERT_TRUE(handle(hypercall(abi::kHcRead)));
    EXPECT_EQ(mem.read<abi::HcIo>(kArg)->result, -EBADF);
}

TEST_F(ExitHandlerTest, UnknownHypercallInRange) {
    for (unsigned nr : {unsigned{abi::kHcCount}, unsigned{abi::kHcCount} + 1, 31u}) {
        expect_guest_fault(handle(hypercall(nr)), "unknown hypercall " + std::to_string(nr));
    }
    for (uint64_t n : stats.hypercalls)
        EXPECT_EQ(n, 0u);
    EXPECT_EQ(stats.total, 3u);
    EXPECT_FALSE(outcome.finished);
}

// kHcReady only marks the exit for the run loop (which saves with
// --save-at-ready); its argument must still lie in guest memory.
TEST_F(ExitHandlerTest, ReadyMarksTheExit) {
    ASSERT_TRUE(mem.write(kArg, abi::HcReady{0}));
    ASSERT_TRUE(handle(hypercall(abi::kHcReady)));
    EXPECT_TRUE(devices->ready_marked);
    EXPECT_FALSE(outcome.finished);
    devices->ready_marked = false;
    expect_guest_fault(handle(io_exit(abi::kHypercallPortBase + abi::kHcReady, true, 4, 0xfffffff0)),
                       "outside guest memory");
    EXPECT_FALSE(devices->ready_marked);
}

// kHcExec: only with an exec channel (lightvm-oci's monitors); garbage in
// its arguments stops the VM, a confused but well-formed call gets -errno.
TEST_F(ExitHandlerTest, ExecWithoutAChannelIsHostile) {
    expect_guest_fault(handle(hypercall(abi::kHcExec)), "without an exec channel");
}

TEST_F(ExitHandlerTest, ExecArgumentsAreChecked) {
    const std::string path = "/tmp/lightvm-exit-handler-exec-" + std::to_string(::getpid());
    auto channel = ExecChannel::listen(path);
    ASSERT_TRUE(channel) << channel.error().to_string();
    ::unlink(path.c_str());
    devices->exec = channel->get();
    auto call = [&](abi::HcExec hc, uint32_t at = kArg) {
        EXPECT_TRUE(mem.write(kArg, hc));
        return handle(hypercall(abi::kHcExec, at));
    };
    auto result = [&] { return mem.read<abi::HcExec>(kArg)->result; };
    ASSERT_TRUE(call({abi::kExecTake, 0, 0x210000, abi::kExecRequestMax, 0, 0, 7}));
    EXPECT_EQ(result(), 0);  // nothing queued
    ASSERT_TRUE(call({abi::kExecDone, 42, 0, 0, 0, 0, 7}));
    EXPECT_EQ(result(), -ENOENT);  // no such exec
    expect_guest_fault(call({abi::kExecTake, 0, 0x210000, 0, 0, 0, 0}), "request buffer of 0 bytes");
    expect_guest_fault(call({abi::kExecTake, 0, 0x210000, 1ull << 40, 0, 0, 0}), "request buffer of");
    expect_guest_fault(call({abi::kExecTake, 0, mem.size() - 100, abi::kExecRequestMax, 0, 0, 0}),
                       "outside guest memory");
    expect_guest_fault(call({abi::kExecTake, 0, ~0ull - 10, abi::kExecRequestMax, 0, 0, 0}), "outside guest memory");
    expect_guest_fault(call({7, 0, 0, 0, 0, 0, 0}), "unknown op 7");
    expect_guest_fault(handle(hypercall(abi::kHcExec, 0xfffffff0u)), "hypercall exec");
}

// Only a booting shell may park (Vm::create takes that exit itself).
TEST_F(ExitHandlerTest, ParkAfterLoadIsHostile) {
    expect_guest_fault(handle(hypercall(abi::kHcPark)), "park hypercall after the workload was loaded");
}

TEST_F(ExitHandlerTest, PortOutsideRange) {
    expect_guest_fault(handle(io_exit(0x60, true, 1, 0)), "I/O port 0x60");
    expect_guest_fault(handle(io_exit(0x4ff, true, 4, kArg)), "write to I/O port 0x4ff");
    expect_guest_fault(handle(io_exit(abi::kHypercallPortEnd, true, 4, kArg)), "0x520");
    expect_guest_fault(handle(io_exit(0x3f8, false, 1, 0)), "read from I/O port 0x3f8");
    // The fault port read (IN) is not a fault report.
    expect_guest_fault(handle(io_exit(abi::kFaultPort, false, 1, 0)), "0x5ff");
    EXPECT_EQ(stats.faults, 0u);
    EXPECT_FALSE(outcome.finished);
}

TEST_F(ExitHandlerTest, MalformedHypercalls) {
    set_exit_args(1, 0);
    expect_guest_fault(handle(io_exit(abi::kHypercallPortBase, false, 4, kArg)), "malformed hypercall 0");
    expect_guest_fault(handle(io_exit(abi::kHypercallPortBase, false, 1, kArg)), ", in, size 1");
    expect_guest_fault(handle(io_exit(abi::kHypercallPortBase, true, 1, kArg)), "out, size 1");
    expect_guest_fault(handle(io_exit(abi::kHypercallPortBase, true, 2, kArg)), "size 2");
    expect_guest_fault(handle(io_exit(abi::kHypercallPortBase, true, 4, kArg, 2)), "malformed");
    EXPECT_FALSE(outcome.finished);  // the exit was never dispatched
    EXPECT_EQ(stats.hypercalls[abi::kHcExit], 0u);
}

// --- other exits -----------------------------------------------------------------

TEST_F(ExitHandlerTest, MmioIsGuestFault) {
    auto e = kind_exit(kvm::ExitKind::Mmio);
    e.mmio_addr = 0xfee00000;
    e.mmio_write = true;
    expect_guest_fault(handle(e), "MMIO write to 0xfee00000");
    e.mmio_addr = 0x123456789;
    e.mmio_write = false;
    expect_guest_fault(handle(e), "MMIO read from 0x123456789");
    EXPECT_EQ(stats.other, 2u);
}

// With lazily registered RAM, an access inside RAM that was never backed is
// the guest's own segfault, not a hostile act.
TEST_F(ExitHandlerTest, MmioInsideUnbackedRamIsASegfault) {
    auto e = kind_exit(kvm::ExitKind::Mmio);
    e.mmio_addr = 0x2345678 % mem.size();
    e.mmio_write = true;
    ASSERT_TRUE(handle(e));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.status, 139);
    EXPECT_NE(outcome.report.find("never allocated"), std::string::npos) << outcome.report;
}

TEST_F(ExitHandlerTest, ShutdownIsTripleFault) {
    ASSERT_TRUE(handle(kind_exit(kvm::ExitKind::Shutdown)));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, SIGSEGV);
    EXPECT_EQ(outcome.status, 139);
    EXPECT_NE(outcome.report.find("triple fault"), std::string::npos) << outcome.report;
    EXPECT_NE(outcome.report.find("0x401234"), std::string::npos) << outcome.report;
    EXPECT_EQ(stats.faults, 1u);
}

TEST_F(ExitHandlerTest, ShutdownWithoutRegisters) {
    cpu.fail = true;
    ASSERT_TRUE(handle(kind_exit(kvm::ExitKind::Shutdown)));
    EXPECT_EQ(outcome.status, 139);
    EXPECT_NE(outcome.report.find("triple fault"), std::string::npos);
}

TEST_F(ExitHandlerTest, HltIsGuestFault) {
    expect_guest_fault(handle(kind_exit(kvm::ExitKind::Hlt)), "halted");
    EXPECT_EQ(stats.other, 1u);
}

TEST_F(ExitHandlerTest, HostSideFailuresAreSystemErrors) {
    auto fe = kind_exit(kvm::ExitKind::FailEntry);
    fe.detail = 0x80000021;
    auto r = handle(fe);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::System);
    EXPECT_NE(r.error().to_string().find("0x80000021"), std::string::npos) << r.error().to_string();

    auto other = kind_exit(kvm::ExitKind::Other);
    other.raw_reason = 99;
    r = handle(other);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::System);
    EXPECT_NE(r.error().message.find("99"), std::string::npos);
    EXPECT_EQ(stats.other, 2u);
}

// Issue 13, bug 3: a KVM internal error is caused by the guest's own
// instruction (an AVX store to unbacked RAM, an exception KVM cannot
// deliver): it ends the guest with a fault report, not lightvm with 125.
TEST_F(ExitHandlerTest, KvmInternalErrorIsAGuestFault) {
    auto ie = kind_exit(kvm::ExitKind::InternalError);
    ie.detail = 1;
    ASSERT_TRUE(handle(ie));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, SIGSEGV);
    EXPECT_EQ(outcome.status, 139);
    EXPECT_NE(outcome.report.find("could not be emulated"), std::string::npos) << outcome.report;
    EXPECT_NE(outcome.report.find("0x401234"), std::string::npos) << outcome.report;
    EXPECT_EQ(stats.faults, 1u);
}

// Issue 13, bug 1: KVM_RUN's EFAULT (a file-backed guest page vanished)
// is a guest bus error with a report.
TEST_F(ExitHandlerTest, LostGuestMemoryIsABusError) {
    ASSERT_TRUE(handle(kind_exit(kvm::ExitKind::MemoryFault)));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.status, 128 + SIGBUS);
    EXPECT_NE(outcome.report.find("SIGBUS"), std::string::npos) << outcome.report;
}

TEST_F(ExitHandlerTest, InterruptedDrainsAndContinues) {
    put(abi::kStreamStdout, "partial");
    ASSERT_TRUE(handle(kind_exit(kvm::ExitKind::Interrupted)));
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(contents(out.get()), "partial");
    EXPECT_EQ(stats.interrupted, 1u);
    corrupt_ring();
    expect_guest_fault(handle(kind_exit(kvm::ExitKind::Interrupted)), "ring corrupt");
}

// --- fault reports ---------------------------------------------------------------

TEST_F(ExitHandlerTest, PageFaultReport) {
    set_frame(14, 2, 0x401abc);
    cpu.s.cr2 = 0x1234;
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, SIGSEGV);
    EXPECT_EQ(outcome.status, 139);
    const std::string& rep = outcome.report;
    EXPECT_NE(rep.find("page fault"), std::string::npos) << rep;
    EXPECT_NE(rep.find("write"), std::string::npos) << rep;
    EXPECT_NE(rep.find("0x1234"), std::string::npos) << rep;
    EXPECT_NE(rep.find("0x401abc"), std::string::npos) << rep;
    EXPECT_NE(rep.find("not mapped"), std::string::npos) << rep;
    EXPECT_NE(rep.find("SIGSEGV"), std::string::npos) << rep;
    EXPECT_EQ(rep.find('\n'), std::string::npos);
    EXPECT_EQ(stats.faults, 1u);
}

TEST_F(ExitHandlerTest, PageFaultAccessKinds) {
    cpu.s.cr2 = 0xdead0;
    set_frame(14, 0);
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_NE(outcome.report.find("read of address 0xdead0 (not mapped)"), std::string::npos) << outcome.report;
    set_frame(14, 0x11);  // instruction fetch, present
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_NE(outcome.report.find("instruction fetch"), std::string::npos) << outcome.report;
    EXPECT_NE(outcome.report.find("protection violation"), std::string::npos) << outcome.report;
    set_frame(14, 0x7);  // user write to a present read-only page
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_NE(outcome.report.find("write of address"), std::string::npos) << outcome.report;
    EXPECT_NE(outcome.report.find("protection violation"), std::string::npos) << outcome.report;
}

TEST_F(ExitHandlerTest, VectorSignals) {
    struct Case {
        unsigned vector;
        int signal;
        const char* name;
    };
    for (const Case& c : {Case{0, SIGFPE, "divide error"}, Case{6, SIGILL, "invalid opcode"},
                          Case{3, SIGTRAP, "breakpoint"}, Case{13, SIGSEGV, "general protection"},
                          Case{17, SIGBUS, "alignment check"}, Case{19, SIGFPE, "SIMD"},
                          Case{8, SIGSEGV, "double fault"}, Case{31, SIGSEGV, "reserved"}}) {
        outcome = {};
        set_frame(c.vector, 0, 0x400100);
        ASSERT_TRUE(handle(fault_exit())) << c.vector;
        EXPECT_TRUE(outcome.finished);
        EXPECT_EQ(outcome.signal, c.signal) << c.vector;
        EXPECT_EQ(outcome.status, 128 + c.signal) << c.vector;
        EXPECT_NE(outcome.report.find(c.name), std::string::npos) << outcome.report;
        EXPECT_NE(outcome.report.find("0x400100"), std::string::npos) << outcome.report;
        EXPECT_NE(outcome.report.find(signal_name(c.signal)), std::string::npos) << outcome.report;
    }
    EXPECT_EQ(stats.faults, 8u);
}

TEST_F(ExitHandlerTest, InvalidOpcodeIsSigill132) {
    set_frame(6, 0);
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_EQ(outcome.signal, SIGILL);
    EXPECT_EQ(outcome.status, 132);
}

TEST_F(ExitHandlerTest, DivideErrorIsSigfpe136) {
    set_frame(0, 0);
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_EQ(outcome.signal, SIGFPE);
    EXPECT_EQ(outcome.status, 136);
}

TEST_F(ExitHandlerTest, GeneralProtectionNamesSelector) {
    set_frame(13, 0x18);
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_NE(outcome.report.find("selector 0x18"), std::string::npos) << outcome.report;
}

TEST_F(ExitHandlerTest, FaultWithStackOutsideMemory) {
    for (uint64_t rsp : {mem.size(), mem.size() - 8, mem.size() - sizeof(Frame) + 1, UINT64_MAX - 7,
                         uint64_t{1} << 47}) {
        cpu.r.rsp = rsp;
        expect_guest_fault(handle(fault_exit()), "invalid stack pointer");
        EXPECT_FALSE(outcome.finished) << rsp;
    }
    cpu.r.rsp = mem.size() - sizeof(Frame);  // the last frame that fits
    ASSERT_TRUE(mem.write(cpu.r.rsp, Frame{6, 0, 1, 2, 3, 4, 5}));
    EXPECT_TRUE(handle(fault_exit()));
    EXPECT_EQ(outcome.signal, SIGILL);
}

TEST_F(ExitHandlerTest, FaultWithInvalidVector) {
    for (uint64_t v : {uint64_t{32}, uint64_t{255}, uint64_t{0xffffffff}, UINT64_MAX}) {
        set_frame(v, 0);
        expect_guest_fault(handle(fault_exit()), "invalid vector");
        EXPECT_FALSE(outcome.finished) << v;
    }
}

TEST_F(ExitHandlerTest, FaultVectorIsNotTruncated) {
    // 2^32 + 14 is not a valid vector, but a 32-bit cast makes it 14.
    set_frame((uint64_t{1} << 32) + 14, 2);
    auto r = handle(fault_exit());
    ASSERT_FALSE(r) << "vector 0x10000000e must be rejected, was reported as: " << outcome.report;
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
}

TEST_F(ExitHandlerTest, FaultRegisterReadFailure) {
    cpu.fail = true;
    set_frame(14, 2);
    auto r = handle(fault_exit());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::System);
    EXPECT_FALSE(outcome.finished);
}

// --- console drain ordering ---------------------------------------------------------

TEST_F(ExitHandlerTest, OutputIsDrainedBeforeExit) {
    put(abi::kStreamStdout, "last words\n");
    put(abi::kStreamStderr, "to stderr\n");
    set_exit_args(3, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_EQ(contents(out.get()), "last words\n");
    EXPECT_EQ(contents(err.get()), "to stderr\n");
    EXPECT_EQ(outcome.status, 3);
}

TEST_F(ExitHandlerTest, OutputIsDrainedBeforeFaultReport) {
    put(abi::kStreamStdout, "before crash");
    set_frame(6, 0);
    ASSERT_TRUE(handle(fault_exit()));
    EXPECT_EQ(contents(out.get()), "before crash");
}

TEST_F(ExitHandlerTest, CorruptRingStopsHypercall) {
    corrupt_ring();
    set_exit_args(5, 0);
    expect_guest_fault(handle(hypercall(abi::kHcExit)), "ring corrupt");
    EXPECT_FALSE(outcome.finished);
    EXPECT_EQ(stats.hypercalls[abi::kHcExit], 1u);
}

TEST_F(ExitHandlerTest, CorruptRingStopsFaultAndShutdown) {
    corrupt_ring();
    set_frame(6, 0);
    expect_guest_fault(handle(fault_exit()), "ring corrupt");
    expect_guest_fault(handle(kind_exit(kvm::ExitKind::Shutdown)), "ring corrupt");
    EXPECT_FALSE(outcome.finished);
}

TEST_F(ExitHandlerTest, SigpipeDuringDrainWinsOverExit) {
    std::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    ::close(fds[0]);
    UniqueFd w(fds[1]);
    console = std::make_unique<Console>(mem, -1, w.get(), err.get(), err.get());
    devices = std::make_unique<Devices>(Devices{mem, *console, *system, cpu});
    put(abi::kStreamStdout, "into a closed pipe");
    set_exit_args(0, 0);
    ASSERT_TRUE(handle(hypercall(abi::kHcExit)));
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.signal, SIGPIPE);
    EXPECT_EQ(outcome.status, 141);
}

// --- statistics ----------------------------------------------------------------------

TEST_F(ExitHandlerTest, StatsCountEachKind) {
    set_exit_args(0, 0);
    ASSERT_TRUE(mem.write(kArg + 0x100, abi::HcSetFsBase{0x1000, 0}));
    EXPECT_TRUE(handle(hypercall(abi::kHcConsoleFlush)));
    EXPECT_TRUE(handle(hypercall(abi::kHcConsoleFlush)));
    EXPECT_TRUE(handle(hypercall(abi::kHcSetFsBase, kArg + 0x100)));
    EXPECT_TRUE(handle(kind_exit(kvm::ExitKind::Interrupted)));
    EXPECT_TRUE(handle(kind_exit(kvm::ExitKind::Interrupted)));
    EXPECT_TRUE(handle(kind_exit(kvm::ExitKind::Interrupted)));
    EXPECT_FALSE(handle(kind_exit(kvm::ExitKind::Hlt)));
    auto mmio = kind_exit(kvm::ExitKind::Mmio);
    mmio.mmio_addr = mem.size() + 0x1000;  // beyond RAM: no device there
    EXPECT_FALSE(handle(mmio));
    set_frame(6, 0);
    EXPECT_TRUE(handle(fault_exit()));
    EXPECT_TRUE(handle(kind_exit(kvm::ExitKind::Shutdown)));
    EXPECT_TRUE(handle(hypercall(abi::kHcExit)));

    EXPECT_EQ(stats.total, 11u);
    EXPECT_EQ(stats.hypercalls[abi::kHcConsoleFlush], 2u);
    EXPECT_EQ(stats.hypercalls[abi::kHcSetFsBase], 1u);
    EXPECT_EQ(stats.hypercalls[abi::kHcExit], 1u);
    EXPECT_EQ(stats.hypercalls[abi::kHcWrite], 0u);
    EXPECT_EQ(stats.interrupted, 3u);
    EXPECT_EQ(stats.other, 2u);
    EXPECT_EQ(stats.faults, 2u);
}

TEST(HypercallName, AllNumbers) {
    EXPECT_STREQ(hypercall_name(abi::kHcExit), "exit");
    EXPECT_STREQ(hypercall_name(abi::kHcConsoleFlush), "console_flush");
    EXPECT_STREQ(hypercall_name(abi::kHcWrite), "write");
    EXPECT_STREQ(hypercall_name(abi::kHcRead), "read");
    EXPECT_STREQ(hypercall_name(abi::kHcSleep), "sleep");
    EXPECT_STREQ(hypercall_name(abi::kHcSetFsBase), "set_fs_base");
    EXPECT_STREQ(hypercall_name(abi::kHcCount), "unknown");
    EXPECT_STREQ(hypercall_name(1000), "unknown");
}

}  // namespace
}  // namespace lightvm
