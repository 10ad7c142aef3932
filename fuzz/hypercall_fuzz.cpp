// libFuzzer target: every hypercall handler, fed through the exit handler
// exactly as the vCPU loop feeds it: a fake vCPU, real guest memory (a
// memfd) whose contents the input writes, and real devices (console, fs
// share, block device, lazy RAM, net device under --net none with one -p
// listener on 127.0.0.1: no host socket can be created, so fuzzed
// addresses never reach a real service). The input is a few exits, each a port
// number and the bytes of its argument block; pointers in the blocks are
// the input's too. Oracles: ASan/UBSan, and nothing outside the share
// changes.
#include <fcntl.h>
#include <unistd.h>

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

using namespace lightvm;

namespace {

constexpr uint64_t kMem = 16ull << 20;
constexpr uint64_t kArg = 0x100000;
constexpr size_t kBlock = 256;  // argument bytes per exit (HcFs is 120)

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
        if (auto n = NetDevice::create(NetMode::None, {pub}))
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
    Devices devices{env.mem, env.console, env.system, env.cpu, &*env.fs, &env.disks, &env.ram, nullptr,
                    env.net ? &*env.net : nullptr};
    ExitStats stats;
    // Up to 4 exits: [port byte][kBlock argument bytes], the rest (if any)
    // is written at kArg + kBlock as data the arguments may point to.
    size_t off = 0;
    for (int i = 0; i < 4 && off + 1 + kBlock <= size; ++i, off += 1 + kBlock) {
        uint8_t port = data[off];
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
        (void)handle_exit(devices, e, outcome, stats);
    }
    if (!env.outside.unchanged())
        __builtin_trap();
    return 0;
}
