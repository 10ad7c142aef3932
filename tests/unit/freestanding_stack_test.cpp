// Tests of the freestanding initial-stack builder (freestanding/exec) as
// the guest kernel's execve will use it: packed argv/envp, a caller buffer,
// and the standard auxv of static and dynamically linked programs. The
// image is decoded the way a C runtime's _start (or ld.so) reads it.
#include "freestanding/exec/initial_stack.hpp"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "freestanding/elf/elf_abi.hpp"

namespace lightvm::exec {
namespace {

constexpr uint64_t kTop = 0x7ffffffde000;

std::string packed(const std::vector<std::string>& strings) {
    std::string block;
    for (const auto& s : strings)
        block += s + '\0';
    return block;
}

// Owns the strings a StackSpec points at.
struct Fixture {
    std::vector<std::string> argv{"/bin/prog", "-x", "hello world", ""};
    std::vector<std::string> envp{"HOME=/root", "PATH=/bin:/usr/bin"};
    std::string argv_block, envp_block;
    std::string execfn = "/bin/prog";
    std::string platform = "x86_64";
    uint8_t random[kRandomSize];
    std::vector<AuxEntry> auxv;
    StackSpec spec;

    explicit Fixture(const ProgramAux& aux = {}) {
        for (size_t i = 0; i < kRandomSize; i++)
            random[i] = static_cast<uint8_t>(0xa0 + i);
        auxv.resize(kMaxProgramAux);
        auxv.resize(fill_auxv(aux, auxv.data()));
        refresh();
    }
    // Call after changing any of the members above.
    void refresh() {
        argv_block = packed(argv);
        envp_block = packed(envp);
        spec.stack_top = kTop;
        spec.argv = {argv_block.data(), argv_block.size(), argv.size()};
        spec.envp = {envp_block.data(), envp_block.size(), envp.size()};
        spec.auxv = auxv.data();
        spec.auxc = auxv.size();
        spec.random = random;
        spec.execfn = {execfn.data(), execfn.size()};
        spec.platform = {platform.data(), platform.size()};
    }
};

// What _start would see, read from the buffer through user addresses only.
struct Decoded {
    uint64_t sp = 0;
    std::vector<std::string> argv, envp;
    std::vector<AuxEntry> auxv;  // in order, without AT_NULL
    std::map<uint64_t, uint64_t> aux;
    std::vector<uint8_t> buf;

    uint64_t u64(uint64_t addr) const {
        EXPECT_TRUE(addr >= sp && addr + 8 <= kTop) << std::hex << addr;
        uint64_t v = 0;
        std::memcpy(&v, buf.data() + (addr - sp), 8);
        return v;
    }
    std::string str(uint64_t addr) const {
        std::string s;
        for (; addr >= sp && addr < kTop && buf[addr - sp]; addr++)
            s += static_cast<char>(buf[addr - sp]);
        EXPECT_LT(addr, kTop) << "string runs off the stack";
        return s;
    }
};

Decoded build_and_decode(const StackSpec& spec) {
    Decoded d;
    uint64_t size = 0;
    Problem p = measure_stack(spec, &size);
    EXPECT_TRUE(p.ok()) << message(p.status);
    d.buf.assign(size + 64, 0xEE);  // more room than needed: only [0, size) is written
    p = build_stack(spec, d.buf.data(), d.buf.size(), &d.sp);
    EXPECT_TRUE(p.ok()) << message(p.status);
    EXPECT_EQ(d.sp, spec.stack_top - size);
    for (size_t i = size; i < d.buf.size(); i++)
        EXPECT_EQ(d.buf[i], 0xEE) << "wrote past the image at " << i;
    d.buf.resize(size);
    uint64_t at = d.sp;
    const uint64_t argc = d.u64(at);
    at += 8;
    for (uint64_t i = 0; i < argc; i++, at += 8)
        d.argv.push_back(d.str(d.u64(at)));
    EXPECT_EQ(d.u64(at), 0u) << "argv NULL";
    for (at += 8; d.u64(at) != 0; at += 8)
        d.envp.push_back(d.str(d.u64(at)));
    for (at += 8; d.u64(at) != AT_NULL; at += 16) {
        d.auxv.push_back({d.u64(at), d.u64(at + 8)});
        EXPECT_TRUE(d.aux.emplace(d.u64(at), d.u64(at + 8)).second) << "duplicate auxv " << d.u64(at);
    }
    return d;
}

std::vector<uint64_t> types(const Decoded& d) {
    std::vector<uint64_t> t;
    for (const auto& a : d.auxv)
        t.push_back(a.type);
    return t;
}

TEST(FreestandingStack, StaticProgram) {
    ProgramAux aux;
    aux.phdr = 0x400040;
    aux.phent = sizeof(Elf64_Phdr);
    aux.phnum = 10;
    aux.entry = 0x401000;
    aux.hwcap = 0x178bfbff;
    Fixture f(aux);
    const Decoded d = build_and_decode(f.spec);
    EXPECT_EQ(d.sp % 16, 0u);
    EXPECT_EQ(d.argv, f.argv);
    EXPECT_EQ(d.envp, f.envp);
    // Linux's order; no interpreter, no vDSO, no HWCAP2.
    const std::vector<uint64_t> expected = {AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR,  AT_PHENT, AT_PHNUM,
                                            AT_BASE,  AT_FLAGS,  AT_ENTRY,  AT_UID,   AT_EUID,  AT_GID,
                                            AT_EGID,  AT_SECURE, AT_RANDOM, AT_EXECFN, AT_PLATFORM};
    EXPECT_EQ(types(d), expected);
    EXPECT_EQ(d.aux.at(AT_BASE), 0u);
    EXPECT_EQ(d.aux.at(AT_PHDR), 0x400040u);
    EXPECT_EQ(d.aux.at(AT_PHENT), 56u);
    EXPECT_EQ(d.aux.at(AT_ENTRY), 0x401000u);
    EXPECT_EQ(d.aux.at(AT_HWCAP), 0x178bfbffu);
    EXPECT_EQ(d.aux.at(AT_PAGESZ), 4096u);
    EXPECT_EQ(d.aux.at(AT_CLKTCK), 100u);
    EXPECT_EQ(d.aux.at(AT_SECURE), 0u);
    EXPECT_EQ(d.str(d.aux.at(AT_EXECFN)), "/bin/prog");
    EXPECT_EQ(d.str(d.aux.at(AT_PLATFORM)), "x86_64");
    const uint64_t random = d.aux.at(AT_RANDOM);
    EXPECT_EQ(random % 16, 0u);
    EXPECT_EQ(std::memcmp(d.buf.data() + (random - d.sp), f.random, kRandomSize), 0);
    EXPECT_EQ(d.u64(kTop - 8), 0u);  // Linux's end marker
}

TEST(FreestandingStack, DynamicProgram) {
    // What execve passes when ld.so runs first: AT_BASE = where ld.so was
    // loaded, AT_ENTRY/AT_PHDR the program's own, plus vDSO and HWCAP2.
    ProgramAux aux;
    aux.phdr = 0x555555554040;
    aux.phent = sizeof(Elf64_Phdr);
    aux.phnum = 13;
    aux.entry = 0x555555555040;
    aux.base = 0x7ffff7fc3000;
    aux.sysinfo_ehdr = 0x7ffff7fc1000;
    aux.hwcap = 0x178bfbff;
    aux.hwcap2 = 0x2;
    aux.uid = aux.euid = 1000;
    aux.gid = aux.egid = 1000;
    aux.secure = true;
    Fixture f(aux);
    const Decoded d = build_and_decode(f.spec);
    EXPECT_EQ(d.sp % 16, 0u);
    ASSERT_FALSE(d.auxv.empty());
    EXPECT_EQ(d.auxv.front().type, uint64_t{AT_SYSINFO_EHDR});  // first, as Linux puts it
    EXPECT_EQ(d.aux.at(AT_SYSINFO_EHDR), 0x7ffff7fc1000u);
    EXPECT_EQ(d.aux.at(AT_BASE), 0x7ffff7fc3000u);
    EXPECT_EQ(d.aux.at(AT_ENTRY), 0x555555555040u);
    EXPECT_EQ(d.aux.at(AT_PHDR), 0x555555554040u);
    EXPECT_EQ(d.aux.at(AT_PHNUM), 13u);
    EXPECT_EQ(d.aux.at(AT_HWCAP2), 2u);
    EXPECT_EQ(d.aux.at(AT_UID), 1000u);
    EXPECT_EQ(d.aux.at(AT_EGID), 1000u);
    EXPECT_EQ(d.aux.at(AT_SECURE), 1u);
    EXPECT_EQ(d.auxv.size(), kMaxProgramAux + 3);  // every standard entry + RANDOM, EXECFN, PLATFORM
    EXPECT_EQ(d.argv, f.argv);
}

TEST(FreestandingStack, AlignedForAnyShape) {
    // argc/envc parity, string lengths and the auxv count move the padding;
    // sp must stay 16-aligned and everything must decode.
    for (size_t argc = 0; argc < 5; argc++) {
        for (size_t envc = 0; envc < 4; envc++) {
            for (size_t len = 0; len < 19; len += 3) {
                for (bool dynamic : {false, true}) {
                    ProgramAux aux;
                    if (dynamic) {
                        aux.base = 0x7f0000000000;
                        aux.hwcap2 = 1;
                    }
                    Fixture f(aux);
                    f.argv.clear();
                    f.envp.clear();
                    for (size_t i = 0; i < argc; i++)
                        f.argv.push_back(std::string(len + i, 'a'));
                    for (size_t i = 0; i < envc; i++)
                        f.envp.push_back("V" + std::to_string(i) + "=" + std::string(len, 'e'));
                    f.execfn = std::string(len, 'x');
                    if (len % 2)
                        f.platform.clear();
                    f.refresh();
                    const Decoded d = build_and_decode(f.spec);
                    ASSERT_EQ(d.sp % 16, 0u) << argc << " " << envc << " " << len;
                    ASSERT_EQ(d.argv, f.argv);
                    ASSERT_EQ(d.envp, f.envp);
                    ASSERT_EQ(d.aux.count(AT_PLATFORM), f.platform.empty() ? 0u : 1u);
                    ASSERT_EQ(d.str(d.aux.at(AT_EXECFN)), f.execfn);
                    ASSERT_EQ(d.aux.at(AT_BASE), aux.base);
                }
            }
        }
    }
}

TEST(FreestandingStack, MalformedStringBlocksRejected) {
    Fixture f;
    uint64_t size;
    f.spec.argv.count = f.argv.size() + 1;  // one string more than the block holds
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::BadArguments);
    f.refresh();
    f.spec.argv.count = f.argv.size() - 1;  // one fewer
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::BadArguments);
    f.refresh();
    f.spec.envp.size -= 1;  // last string not terminated
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::BadEnvironment);
    f.refresh();
    f.spec.envp = {f.envp_block.data(), f.envp_block.size(), 0};  // bytes but no count
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::BadEnvironment);
    f.refresh();
    f.spec.argv = {nullptr, 0, 0};  // argc 0 is allowed (as Linux)
    EXPECT_TRUE(measure_stack(f.spec, &size).ok());
}

TEST(FreestandingStack, SpecChecks) {
    Fixture f;
    uint64_t size;
    f.spec.stack_top = kTop + 8;
    Problem p = measure_stack(f.spec, &size);
    EXPECT_EQ(p.status, Status::StackTopUnaligned);
    EXPECT_EQ(p.value, kTop + 8);
    f.refresh();
    f.spec.argv.count = kMaxStrings + 1;
    p = measure_stack(f.spec, &size);
    EXPECT_EQ(p.status, Status::TooManyArguments);
    EXPECT_EQ(p.value, kMaxStrings + 1);
    f.refresh();
    f.spec.random = nullptr;
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::NoRandom);
    f.refresh();
    f.execfn = std::string("a\0b", 3);
    f.refresh();
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::NulInExecfn);
    f = Fixture();
    f.platform = std::string("x86\0", 4);
    f.refresh();
    EXPECT_EQ(measure_stack(f.spec, &size).status, Status::NulInPlatform);
    f = Fixture();
    f.auxv.push_back({AT_RANDOM, 0});
    f.refresh();
    p = measure_stack(f.spec, &size);
    EXPECT_EQ(p.status, Status::ReservedAuxType);
    EXPECT_EQ(p.value, uint64_t{AT_RANDOM});
}

TEST(FreestandingStack, SizeLimitsAndBuffer) {
    Fixture f;
    uint64_t size = 0;
    ASSERT_TRUE(measure_stack(f.spec, &size).ok());
    EXPECT_EQ(size % 16, 0u);
    f.spec.max_size = size - 1;
    Problem p = measure_stack(f.spec, &size);
    EXPECT_EQ(p.status, Status::TooLarge);
    EXPECT_EQ(p.value, size);
    EXPECT_EQ(p.limit, size - 1);
    f.refresh();
    f.spec.max_size = UINT64_MAX;
    f.spec.stack_top = size - 16;
    p = measure_stack(f.spec, &size);
    EXPECT_EQ(p.status, Status::StackTopTooLow);
    f.refresh();
    std::vector<uint8_t> buf(size - 1, 0xEE);
    uint64_t sp = 0;
    p = build_stack(f.spec, buf.data(), buf.size(), &sp);
    EXPECT_EQ(p.status, Status::BufferTooSmall);
    EXPECT_EQ(p.value, size);
    for (uint8_t b : buf)
        ASSERT_EQ(b, 0xEE) << "nothing written on failure";
}

TEST(FreestandingStack, EveryStatusHasAMessage) {
    for (int s = 0; s <= static_cast<int>(Status::BufferTooSmall); s++)
        EXPECT_STRNE(message(static_cast<Status>(s)), "unknown initial stack problem") << s;
}

}  // namespace
}  // namespace lightvm::exec
