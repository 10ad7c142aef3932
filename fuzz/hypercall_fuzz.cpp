// libFuzzer target: every hypercall handler, fed through the exit handler
// exactly as the vCPU loop feeds it: a fake vCPU, real guest memory (a
// memfd) whose contents the input writes, and real devices (console, fs
// share, block device, lazy RAM, net device under --net none with a TCP and
// a UDP -p socket on 127.0.0.1: no host socket can be created, so fuzzed
// addresses never reach a real service). The input is a few exits, each a port
// number and the bytes of its argument block; pointers in the blocks are
// the input's too. Interrupts too, as the run loop drives them: the guest
// timer (kHcTimer, a real host timer), before_run after every exit
// (inject, window, restart in the handler's tail, busy) with a fake IrqCpu
// whose rip and readiness come from the block, whose IrqState the block
// overwrites, plus asynchronous exits, restore(), raise_remote() and the
// test doorbells. Oracles: ASan/UBSan, nothing outside the share changes,
// and the fake vCPU is only injected a valid vector when it is ready.
#include <fcntl.h>
#include <unistd.h>

#include <time.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "devices/block.hpp"
#include "devices/console.hpp"
#include "devices/fs.hpp"
#include "devices/net.hpp"
#include "devices/ram.hpp"
#include "devices/system.hpp"
#include "fuzz_env.hpp"
#include "lightvm/abi.h"
#include "monitor/exit_handler.hpp"
#include "monitor/interrupts.hpp"

using namespace lightvm;

namespace {

constexpr uint64_t kMem = 16ull << 20;
constexpr uint64_t kArg = 0x100000;
constexpr size_t kBlock = 256;  // argument bytes per exit (HcFs is 112)
// In each block: [0, 112) the hypercall's argument, [128, 152) IrqCtl,
// [160, 256) the guest's IrqState, so every exit leaves garbage there.
constexpr size_t kCtl = 128;
const IrqLayout kIrq{0x200000, 0x200080, 0x200098, 0x208000, kArg + 160};

// How the interrupt path is driven after an exit (bits of `flags`).
struct IrqCtl {
    uint8_t flags;   // 1 ready, 6 rip (outside, tail, entry, value), 8 async exit after (16: a window exit)
                     // 32 deadlines within 2 ms of now, 64 restore(value, deadline) before the exit's
                     // before_run, 128 raise_remote(value) after it
    uint8_t config;  // first exit only: 1 doorbell at every hypercall, 2 doorbell timer every 50 us
    uint8_t pad[6];
    uint64_t value, deadline;
};

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

// Near deadlines make the host timer fire during the input.
uint64_t fuzz_deadline(const IrqCtl& c, uint64_t d) {
    return (c.flags & 32) && d ? now_ns() + d % 2000000 : d;
}

class FakeCpu final : public CpuAccess {
public:
    Result<kvm::Regs> regs() override {
        kvm::Regs r{};
        r.rsp = 0x30000 - 64;  // the fault stack: a fault report reads a frame there
        r.rip = 0x401000;
        return r;
    }
    Result<kvm::Sregs> sregs() override { return kvm::Sregs{}; }
    Result<void> set_sregs(const kvm::Sregs&) override { return {}; }
};

// Interrupts' vCPU: registers and readiness from the input; injects only
// what Interrupts may inject.
class FakeIrqCpu final : public IrqCpu {
public:
    uint64_t rip = 0;
    bool ready = false, window = false, asked = false;
    Result<kvm::Regs> get_regs() override {
        kvm::Regs r{};
        r.rip = rip;
        return r;
    }
    Result<void> set_regs(const kvm::Regs& r) override {
        if (r.rip != kIrq.entry)  // only a restart sets registers
            __builtin_trap();
        return {};
    }
    bool interrupt_ready() override {
        asked = true;
        return ready;
    }
    void request_interrupt_window(bool on) override { window = on; }
    Result<void> inject_interrupt(uint8_t vector) override {
        if (!asked || !ready || window || vector < abi::kIrqVectorBase ||
            vector >= abi::kIrqVectorBase + abi::kIrqSources)
            __builtin_trap();
        return {};
    }
    void set_immediate_exit(bool) override {}
    void set(const IrqCtl& c) {
        ready = c.flags & 1;
        asked = false;
        switch ((c.flags >> 1) & 3) {
        case 0: rip = 0x401000; break;
        case 1: rip = kIrq.tail + c.value % (kIrq.tail_end - kIrq.tail + 1); break;  // tail_end itself too
        case 2: rip = kIrq.entry; break;
        default: rip = c.value;
        }
    }
};

struct Env {
    std::string root = fuzz::make_tree();
    fuzz::Outside outside{root};
    GuestMemory mem = std::move(*GuestMemory::create(kMem));
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int in = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    std::optional<FsDevice> fs;
    std::vector<BlockDevice> disks;
    Console console{mem, in, null, null, -1};
    SystemDevice system{mem};
    FakeCpu cpu;
    FakeIrqCpu irq_cpu;
    RamDevice ram{mem, [](uint32_t, uint64_t, uint64_t) -> Result<void> { return {}; }};
    std::optional<NetDevice> net;
    int runs = 0;

    Env() {
        std::string disk = root + "/disk.img";
        int fd = ::open(disk.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        (void)::ftruncate(fd, 1 << 20);
        ::close(fd);
        disks.push_back(std::move(*BlockDevice::open(disk, false)));
        (void)ram.boot(4ull << 20, 12ull << 20);
        PublishSpec pub;  // port 0: the kernel picks a free one
        pub.host_ip = "127.0.0.1";
        pub.guest_port = 80;
        PublishSpec udp = pub;  // and a UDP one: sends on it are confined to its clients
        udp.guest_port = 53;
        udp.udp = true;
        if (auto n = NetDevice::create(NetMode::None, {pub, udp}))
            net.emplace(std::move(*n));
    }
    void reset() {
        fs.reset();
        fs.emplace(std::move(*FsDevice::create({{root + "/share", "/", false}, {root + "/ro", "/ro", true}})));
        fs->set_streams(null, null);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Env env;
    if (env.runs++ % 4096 == 0)
        env.reset();
    IrqCtl ctl{};
    if (size >= 1 + kCtl + sizeof ctl)
        std::memcpy(&ctl, data + 1 + kCtl, sizeof ctl);
    IrqTestConfig test;
    test.doorbell_on_exit = ctl.config & 1;
    test.doorbell_period_ns = ctl.config & 2 ? 50000 : 0;
    // One per input, as one per run: a clean state for each input, and its
    // host timers (at most the guest timer and the doorbell, whatever the
    // deadlines) are deleted with it. Their signal has the monitor's own
    // handler, installed with the first timer.
    Interrupts irq(env.mem, env.irq_cpu, kIrq, test);
    (void)irq.start();
    Devices devices{env.mem, env.console, env.system, env.cpu, &*env.fs, &env.disks, &env.ram, &irq,
                    env.net ? &*env.net : nullptr};
    ExitStats stats;
    // Up to 4 exits: [port byte][kBlock argument bytes], the rest (if any)
    // is written at kArg + kBlock as data the arguments may point to.
    size_t off = 0;
    for (int i = 0; i < 4 && off + 1 + kBlock <= size; ++i, off += 1 + kBlock) {
        uint8_t port = data[off];
        std::memcpy(&ctl, data + off + 1 + kCtl, sizeof ctl);
        (void)env.mem.write_bytes(kArg, {data + off + 1, kBlock});
        size_t tail = size - off - 1 - kBlock;
        if (tail)
            (void)env.mem.write_bytes(kArg + kBlock, {data + off + 1 + kBlock, std::min<size_t>(tail, 0x10000)});
        unsigned nr = port & 0x1f;
        if (nr == abi::kHcSleep) {  // the one call meant to block: keep it short
            auto hc = env.mem.read<abi::HcSleep>(kArg);
            if (hc && hc->nanoseconds > 1000000)
                continue;
        }
        if (nr == abi::kHcNet) {  // a net request may wait for readiness: keep it short
            auto hc = env.mem.read<abi::HcNet>(kArg);
            if (hc && (hc->wait_ns < 0 || hc->wait_ns > 1000000))
                continue;
        }
        if (nr == abi::kHcTimer)
            if (auto hc = env.mem.read<abi::HcTimer>(kArg))
                (void)env.mem.write(kArg, abi::HcTimer{fuzz_deadline(ctl, hc->deadline_ns), hc->result});
        kvm::Exit e;
        e.kind = (port & 0xe0) == 0xe0 ? kvm::ExitKind::Mmio : kvm::ExitKind::Io;
        e.io_out = !(port & 0x40) || (port & 0x20);
        e.port = static_cast<uint16_t>((port & 0x80) && (port & 0x20) ? abi::kFaultPort
                                                                      : abi::kHypercallPortBase + nr);
        e.io_size = 4;
        e.io_count = 1;
        e.io_value = static_cast<uint32_t>(kArg);
        e.mmio_addr = kArg * (port & 7);
        Outcome outcome;
        if (!handle_exit(devices, e, outcome, stats) || outcome.finished)
            continue;  // the run loop would stop here
        if (ctl.flags & 64)
            (void)irq.restore(ctl.value, fuzz_deadline(ctl, ctl.deadline));
        env.irq_cpu.set(ctl);
        (void)irq.before_run(e);
        if (ctl.flags & 128)  // another vCPU's kick while this one runs on
            irq.raise_remote(ctl.value);
        if (ctl.flags & 8) {  // then a stop between instructions: rip matters
            e.kind = ctl.flags & 16 ? kvm::ExitKind::IrqWindowOpen : kvm::ExitKind::Interrupted;
            (void)handle_exit(devices, e, outcome, stats);
            env.irq_cpu.asked = false;
            (void)irq.before_run(e);
        }
        // What a snapshot reads here.
        (void)irq.undelivered();
        (void)irq.timer_deadline();
    }
    (void)irq.finish();
    if (!env.outside.unchanged())
        __builtin_trap();
    return 0;
}
