// Tests for the Linux initial stack builder: the image is decoded the way a
// C runtime's _start does it, using guest addresses only.
#include "loader/initial_stack.hpp"

#include "freestanding/elf/elf_abi.hpp"

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lightvm::loader {
namespace {

constexpr uint64_t kTop = 0x7fff0000;

// What _start + libc init would see.
struct Decoded {
    uint64_t argc = 0;
    std::vector<std::string> argv;
    std::vector<std::string> envp;
    std::vector<AuxEntry> auxv;  // without the AT_NULL terminator
    uint64_t auxv_end = 0;       // guest address just past AT_NULL's pair
    std::vector<uint64_t> string_addrs;
};

// Reads guest memory [sp, stack_top) through the image, bounds-checked.
class Reader {
public:
    Reader(const StackImage& image, uint64_t top) : m_image(image), m_top(top) {}

    std::optional<uint64_t> u64(uint64_t addr) const {
        if (addr < m_image.sp || addr > m_top || m_top - addr < 8) {
            ADD_FAILURE() << "u64 read at 0x" << std::hex << addr << " outside the stack";
            return std::nullopt;
        }
        uint64_t value = 0;
        for (int i = 7; i >= 0; i--)
            value = value << 8 | m_image.bytes[addr - m_image.sp + i];
        return value;
    }

    std::optional<std::string> cstr(uint64_t addr) const {
        std::string s;
        for (uint64_t a = addr;; a++) {
            if (a < m_image.sp || a >= m_top) {
                ADD_FAILURE() << "string at 0x" << std::hex << addr << " runs outside the stack";
                return std::nullopt;
            }
            const uint8_t c = m_image.bytes[a - m_image.sp];
            if (c == 0)
                return s;
            s.push_back(static_cast<char>(c));
        }
    }

    std::vector<uint8_t> bytes(uint64_t addr, size_t n) const {
        if (addr < m_image.sp || addr > m_top || m_top - addr < n) {
            ADD_FAILURE() << "read at 0x" << std::hex << addr << " outside the stack";
            return {};
        }
        const auto* p = m_image.bytes.data() + (addr - m_image.sp);
        return {p, p + n};
    }

private:
    const StackImage& m_image;
    uint64_t m_top;
};

std::optional<Decoded> decode(const StackImage& image, uint64_t top) {
    Reader rd(image, top);
    Decoded d;
    uint64_t at = image.sp;
    auto argc = rd.u64(at);
    if (!argc)
        return std::nullopt;
    d.argc = *argc;
    at += 8;
    // argv: argc pointers then NULL (must agree with argc).
    for (;;) {
        auto p = rd.u64(at);
        if (!p)
            return std::nullopt;
        at += 8;
        if (*p == 0)
            break;
        auto s = rd.cstr(*p);
        if (!s)
            return std::nullopt;
        d.argv.push_back(*s);
        d.string_addrs.push_back(*p);
    }
    for (;;) {
        auto p = rd.u64(at);
        if (!p)
            return std::nullopt;
        at += 8;
        if (*p == 0)
            break;
        auto s = rd.cstr(*p);
        if (!s)
            return std::nullopt;
        d.envp.push_back(*s);
        d.string_addrs.push_back(*p);
    }
    for (;;) {
        auto type = rd.u64(at);
        auto value = rd.u64(at + 8);
        if (!type || !value)
            return std::nullopt;
        at += 16;
        if (*type == AT_NULL) {
            EXPECT_EQ(*value, 0u) << "AT_NULL value";
            break;
        }
        d.auxv.push_back({*type, *value});
    }
    d.auxv_end = at;
    return d;
}

std::optional<uint64_t> aux_value(const Decoded& d, uint64_t type) {
    std::optional<uint64_t> found;
    for (const auto& a : d.auxv) {
        if (a.type == type) {
            EXPECT_FALSE(found) << "duplicate auxv type " << type;
            found = a.value;
        }
    }
    return found;
}

StackSpec typical_spec() {
    StackSpec spec;
    spec.stack_top = kTop;
    spec.argv = {"/bin/prog", "-x", "hello world", ""};
    spec.envp = {"HOME=/root", "PATH=/bin:/usr/bin", "TERM=xterm"};
    spec.auxv = {{AT_PHDR, 0x400040}, {AT_PHENT, 56}, {AT_PHNUM, 10},
                 {AT_PAGESZ, 4096},   {AT_ENTRY, 0x401000}, {AT_UID, 0}};
    for (size_t i = 0; i < spec.random.size(); i++)
        spec.random[i] = static_cast<uint8_t>(0xa0 + i);
    spec.execfn = "/bin/prog";
    return spec;
}

::testing::AssertionResult rejected_with(const StackSpec& spec, const std::string& text) {
    auto r = build_initial_stack(spec);
    if (r)
        return ::testing::AssertionFailure() << "accepted, expected \"" << text << "\"";
    if (r.error().kind != ErrorKind::BadInput)
        return ::testing::AssertionFailure() << "wrong kind for: " << r.error().to_string();
    if (r.error().message.find(text) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message \"" << r.error().message << "\" lacks \"" << text << "\"";
    return ::testing::AssertionSuccess();
}

TEST(InitialStack, DecodesLikeACRuntime) {
    const auto spec = typical_spec();
    auto r = build_initial_stack(spec);
    ASSERT_TRUE(r) << r.error().to_string();
    const auto& img = *r;
    EXPECT_EQ(img.sp % 16, 0u);
    EXPECT_EQ(img.sp, kTop - img.bytes.size());
    EXPECT_LE(img.bytes.size(), spec.max_size);

    auto d = decode(img, kTop);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->argc, 4u);
    EXPECT_EQ(d->argv, spec.argv);
    EXPECT_EQ(d->envp, spec.envp);

    // Caller's entries first, in order, then the builder's own.
    ASSERT_EQ(d->auxv.size(), spec.auxv.size() + 3);
    for (size_t i = 0; i < spec.auxv.size(); i++) {
        EXPECT_EQ(d->auxv[i].type, spec.auxv[i].type);
        EXPECT_EQ(d->auxv[i].value, spec.auxv[i].value);
    }
    EXPECT_EQ(d->auxv[spec.auxv.size()].type, uint64_t{AT_RANDOM});

    Reader rd(img, kTop);
    auto random = aux_value(*d, AT_RANDOM);
    ASSERT_TRUE(random);
    EXPECT_EQ(rd.bytes(*random, 16), std::vector<uint8_t>(spec.random.begin(), spec.random.end()));
    EXPECT_EQ(*random % 16, 0u);
    auto execfn = aux_value(*d, AT_EXECFN);
    ASSERT_TRUE(execfn);
    EXPECT_EQ(rd.cstr(*execfn), std::optional<std::string>("/bin/prog"));
    auto platform = aux_value(*d, AT_PLATFORM);
    ASSERT_TRUE(platform);
    EXPECT_EQ(rd.cstr(*platform), std::optional<std::string>("x86_64"));

    // The 8 bytes at the very top are zero (Linux's end marker).
    EXPECT_EQ(rd.u64(kTop - 8), std::optional<uint64_t>(0));
    // The pointer block ends below everything it points at.
    EXPECT_LE(d->auxv_end, *random);
    for (uint64_t a : d->string_addrs)
        EXPECT_GE(a, *random + 16);
}

TEST(InitialStack, LinuxLayoutOrder) {
    const auto spec = typical_spec();
    auto r = build_initial_stack(spec);
    ASSERT_TRUE(r) << r.error().to_string();
    auto d = decode(*r, kTop);
    ASSERT_TRUE(d);
    Reader rd(*r, kTop);
    // From the top: end marker, execfn, envp strings, argv strings, platform, random.
    const uint64_t execfn = *aux_value(*d, AT_EXECFN);
    EXPECT_EQ(execfn, kTop - 8 - (spec.execfn.size() + 1));
    const auto& addrs = d->string_addrs;  // argv[0..3], envp[0..2]
    ASSERT_EQ(addrs.size(), 7u);
    for (size_t i = 0; i + 1 < addrs.size(); i++)
        EXPECT_LT(addrs[i], addrs[i + 1]) << "strings ascend in memory";
    // Packed back to back: each string ends where the next begins.
    for (size_t i = 0; i + 1 < addrs.size(); i++)
        EXPECT_EQ(addrs[i] + rd.cstr(addrs[i])->size() + 1, addrs[i + 1]);
    EXPECT_EQ(addrs.back() + spec.envp.back().size() + 1, execfn);
    const uint64_t platform = *aux_value(*d, AT_PLATFORM);
    EXPECT_LT(platform, addrs.front());
    EXPECT_LT(*aux_value(*d, AT_RANDOM), platform);
}

TEST(InitialStack, AlignedForAnyShape) {
    // argc/envc parity and string lengths move the padding around; sp must
    // stay 16-aligned and the image must decode every time.
    for (size_t argc = 0; argc < 6; argc++) {
        for (size_t envc = 0; envc < 4; envc++) {
            for (size_t len = 0; len < 19; len += 3) {
                for (size_t auxc = 0; auxc < 3; auxc++) {
                    StackSpec spec;
                    spec.stack_top = 0x800000;
                    for (size_t i = 0; i < argc; i++)
                        spec.argv.push_back(std::string(len + i, 'a'));
                    for (size_t i = 0; i < envc; i++)
                        spec.envp.push_back("V" + std::to_string(i) + "=" + std::string(len, 'e'));
                    for (size_t i = 0; i < auxc; i++)
                        spec.auxv.push_back({AT_PAGESZ + i, 4096});
                    spec.execfn = std::string(len, 'x');
                    if (len % 2)
                        spec.platform.clear();
                    auto r = build_initial_stack(spec);
                    ASSERT_TRUE(r) << r.error().to_string();
                    ASSERT_EQ(r->sp % 16, 0u) << argc << " " << envc << " " << len;
                    ASSERT_EQ(r->sp + r->bytes.size(), spec.stack_top);
                    auto d = decode(*r, spec.stack_top);
                    ASSERT_TRUE(d);
                    ASSERT_EQ(d->argc, argc);
                    ASSERT_EQ(d->argv, spec.argv);
                    ASSERT_EQ(d->envp, spec.envp);
                    ASSERT_EQ(d->auxv.size(), auxc + (spec.platform.empty() ? 2 : 3));
                    // No more padding than needed: at most 15 bytes each in three places.
                    size_t strings = 8 + spec.execfn.size() + 1 + 16 +
                                     (spec.platform.empty() ? 0 : spec.platform.size() + 1);
                    for (const auto& s : spec.argv)
                        strings += s.size() + 1;
                    for (const auto& s : spec.envp)
                        strings += s.size() + 1;
                    const size_t words = 3 + argc + envc + 2 * d->auxv.size() + 2;
                    ASSERT_LE(r->bytes.size(), strings + 8 * words + 3 * 15);
                }
            }
        }
    }
}

TEST(InitialStack, EmptyArgv) {
    StackSpec spec = typical_spec();
    spec.argv.clear();
    auto r = build_initial_stack(spec);
    ASSERT_TRUE(r) << r.error().to_string();
    Reader rd(*r, kTop);
    EXPECT_EQ(rd.u64(r->sp), std::optional<uint64_t>(0));      // argc
    EXPECT_EQ(rd.u64(r->sp + 8), std::optional<uint64_t>(0));  // argv[0] == NULL
    auto d = decode(*r, kTop);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->argv.empty());
    EXPECT_EQ(d->envp, spec.envp);
}

TEST(InitialStack, EverythingEmpty) {
    StackSpec spec;
    spec.stack_top = 0x10000;
    spec.platform.clear();
    auto r = build_initial_stack(spec);
    ASSERT_TRUE(r) << r.error().to_string();
    auto d = decode(*r, spec.stack_top);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->argc, 0u);
    EXPECT_TRUE(d->envp.empty());
    ASSERT_EQ(d->auxv.size(), 2u);  // AT_RANDOM, AT_EXECFN; no AT_PLATFORM
    EXPECT_FALSE(aux_value(*d, AT_PLATFORM));
    Reader rd(*r, spec.stack_top);
    EXPECT_EQ(rd.cstr(*aux_value(*d, AT_EXECFN)), std::optional<std::string>(""));
}

TEST(InitialStack, EmbeddedNulRejected) {
    auto spec = typical_spec();
    spec.argv[3] = std::string("a\0b", 3);
    EXPECT_TRUE(rejected_with(spec, "argument 3 contains a NUL byte"));
    spec = typical_spec();
    spec.envp[1] = std::string("X=\0", 3);
    EXPECT_TRUE(rejected_with(spec, "environment variable 1 contains a NUL byte"));
    spec = typical_spec();
    spec.execfn = std::string("\0", 1);
    EXPECT_TRUE(rejected_with(spec, "executable name contains a NUL byte"));
    spec = typical_spec();
    spec.platform = std::string("x86\0", 4);
    EXPECT_TRUE(rejected_with(spec, "platform string contains a NUL byte"));
}

TEST(InitialStack, TooLargeRejected) {
    auto spec = typical_spec();
    spec.argv.push_back(std::string(300 * 1024, 'z'));
    EXPECT_TRUE(rejected_with(spec, "arguments and environment too large ("));
    EXPECT_TRUE(rejected_with(spec, " bytes, limit 262144)"));
    spec = typical_spec();
    spec.envp.assign(20000, std::string(20, 'e'));
    EXPECT_TRUE(rejected_with(spec, "arguments and environment too large"));
}

TEST(InitialStack, SizeLimitIsExact) {
    auto spec = typical_spec();
    spec.max_size = UINT64_MAX;
    auto r = build_initial_stack(spec);
    ASSERT_TRUE(r);
    const size_t size = r->bytes.size();
    spec.max_size = size;
    EXPECT_TRUE(build_initial_stack(spec));
    spec.max_size = size - 1;
    EXPECT_TRUE(rejected_with(spec, "arguments and environment too large (" +
                                        std::to_string(size) + " bytes, limit " +
                                        std::to_string(size - 1) + ")"));
}

TEST(InitialStack, TooManyEntries) {
    StackSpec spec;
    spec.stack_top = kTop;
    spec.max_size = 64u << 20;
    spec.argv.assign(kMaxStackStrings, "a");
    auto r = build_initial_stack(spec);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(Reader(*r, kTop).u64(r->sp), std::optional<uint64_t>(kMaxStackStrings));
    spec.argv.push_back("a");
    EXPECT_TRUE(rejected_with(spec, "too many arguments (65537, limit 65536)"));
    spec.argv.clear();
    spec.envp.assign(kMaxStackStrings + 1, "A=1");
    EXPECT_TRUE(rejected_with(spec, "too many environment variables (65537, limit 65536)"));
}

TEST(InitialStack, BadStackTop) {
    auto spec = typical_spec();
    spec.stack_top = kTop + 8;
    EXPECT_TRUE(rejected_with(spec, "is not 16-byte aligned"));
    spec.stack_top = 0x40;  // far too low to hold the image
    EXPECT_TRUE(rejected_with(spec, "is too low for"));
}

TEST(InitialStack, ReservedAuxvTypesRejected) {
    for (uint64_t type : {uint64_t{AT_NULL}, uint64_t{AT_RANDOM}, uint64_t{AT_EXECFN},
                          uint64_t{AT_PLATFORM}}) {
        auto spec = typical_spec();
        spec.auxv.push_back({type, 0});
        EXPECT_TRUE(rejected_with(spec, "auxv entry type " + std::to_string(type) +
                                            " is added by the stack builder"));
    }
}

}  // namespace
}  // namespace lightvm::loader
