// libFuzzer target: the fs device's path resolution. The input picks an
// operation, flags and two paths; the request runs against a real share.
// Oracle (besides ASan/UBSan): nothing outside the share ever changes.
#include <fcntl.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "devices/fs.hpp"
#include "fuzz_env.hpp"
#include "lightvm/abi.h"

using namespace lightvm;

namespace {
constexpr uint64_t kArg = 0x1000, kPath = 0x2000, kPath2 = 0x4000, kBuf = 0x10000;

struct Env {
    std::string root = fuzz::make_tree();
    fuzz::Outside outside{root};
    GuestMemory mem = std::move(*GuestMemory::create(16ull << 20));
    std::optional<FsDevice> dev, mapped;  // the same tree, passthrough and mapped ownership
    int runs = 0;
    void reset() {
        dev.reset();
        dev.emplace(std::move(*FsDevice::create({{root + "/share", "/", false}, {root + "/ro", "/ro", true}})));
        mapped.reset();
        // Refused where /tmp has no user.* attributes: then passthrough only.
        if (auto m = FsDevice::create({{root + "/share", "/", false, true}, {root + "/ro", "/ro", true, true}}))
            mapped.emplace(std::move(*m));
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Env env;
    if (env.runs++ % 4096 == 0)
        env.reset();  // handles do not pile up
    if (size < 8)
        return 0;
    static const uint32_t ops[] = {abi::kFsOpen, abi::kFsStat, abi::kFsMkdir, abi::kFsUnlink, abi::kFsRename,
                                   abi::kFsReadlink, abi::kFsSymlink, abi::kFsLink, abi::kFsUtimens,
                                   abi::kFsChmod, abi::kFsAccess, abi::kFsStatfs, abi::kFsRealpath, abi::kFsListTree};
    abi::HcFs hc{};
    hc.op = ops[data[0] % std::size(ops)];
    hc.share = data[1] % 3;  // 2: out of range
    hc.share2 = data[2] % 2;
    hc.handle = data[3] < 16 ? data[3] : abi::kNoHandle;
    hc.options = data[4] & 1 ? abi::kFsOptRedirect : 0;
    static const uint32_t flags[] = {0, O_RDONLY | O_NOFOLLOW, O_WRONLY | O_CREAT, O_RDWR | O_CREAT | O_EXCL,
                                     O_WRONLY | O_TRUNC, O_DIRECTORY, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, 1};
    hc.flags = flags[data[5] % std::size(flags)];
    hc.mode = data[6] & 1 ? 0777 : 06755;  // set-id bits must be stripped
    // Two paths, split at the first NUL.
    std::string rest(reinterpret_cast<const char*>(data + 8), size - 8);
    size_t nul = rest.find('\0');
    std::string p1 = rest.substr(0, nul), p2 = nul == std::string::npos ? "" : rest.substr(nul + 1);
    p1.resize(std::min<size_t>(p1.size(), 0x2000));
    p2.resize(std::min<size_t>(p2.size(), 0x2000));
    (void)env.mem.write_bytes(kPath, {reinterpret_cast<const uint8_t*>(p1.data()), p1.size()});
    (void)env.mem.write_bytes(kPath2, {reinterpret_cast<const uint8_t*>(p2.data()), p2.size()});
    hc.path = kPath;
    hc.path_len = p1.size();
    hc.path2 = kPath2;
    hc.path2_len = p2.size();
    hc.buf = kBuf;
    hc.len = 4096;
    (void)env.mem.write(kArg, hc);
    // Odd data[7]: the mapped device (its attribute writes must stay inside too).
    FsDevice& dev = (data[7] & 1) && env.mapped ? *env.mapped : *env.dev;
    (void)dev.hypercall(env.mem, kArg);
    if (!env.outside.unchanged())
        __builtin_trap();  // a guest path reached outside its share
    return 0;
}
