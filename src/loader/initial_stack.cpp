#include "loader/initial_stack.hpp"

#include <elf.h>

#include <cstdio>
#include <cstring>

namespace lightvm::loader {

namespace {

tl::unexpected<Error> bad(std::string message) {
    return make_error(ErrorKind::BadInput, "exec", std::move(message));
}

std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
    return buf;
}

// Saturating, so an absurd request reports a huge size instead of wrapping
// around to a small one that passes the limit check.
uint64_t sat_add(uint64_t a, uint64_t b) {
    uint64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

uint64_t sat_mul(uint64_t a, uint64_t b) {
    uint64_t product;
    return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}

uint64_t align16(uint64_t value) {
    return value > UINT64_MAX - 15 ? UINT64_MAX : (value + 15) & ~uint64_t{15};
}

bool has_nul(const std::string& s) {
    return s.find('\0') != std::string::npos;
}

// Explicit little-endian, so the image is right whatever the host does.
void put_u64(std::vector<uint8_t>& bytes, size_t index, uint64_t value) {
    for (int i = 0; i < 8; i++)
        bytes[index + i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

Result<StackImage> build_initial_stack(const StackSpec& spec) {
    if (spec.stack_top % 16 != 0)
        return bad("stack top " + hex(spec.stack_top) + " is not 16-byte aligned");
    if (spec.argv.size() > kMaxStackStrings)
        return bad("too many arguments (" + std::to_string(spec.argv.size()) + ", limit " +
                   std::to_string(kMaxStackStrings) + ")");
    if (spec.envp.size() > kMaxStackStrings)
        return bad("too many environment variables (" + std::to_string(spec.envp.size()) +
                   ", limit " + std::to_string(kMaxStackStrings) + ")");
    // The guest sees C strings: an embedded NUL would silently truncate.
    for (size_t i = 0; i < spec.argv.size(); i++)
        if (has_nul(spec.argv[i]))
            return bad("argument " + std::to_string(i) + " contains a NUL byte");
    for (size_t i = 0; i < spec.envp.size(); i++)
        if (has_nul(spec.envp[i]))
            return bad("environment variable " + std::to_string(i) + " contains a NUL byte");
    if (has_nul(spec.execfn))
        return bad("executable name contains a NUL byte");
    if (has_nul(spec.platform))
        return bad("platform string contains a NUL byte");
    // A stray AT_NULL would cut the vector short; duplicates confuse getauxval().
    for (const auto& aux : spec.auxv)
        if (aux.type == AT_NULL || aux.type == AT_RANDOM || aux.type == AT_EXECFN ||
            aux.type == AT_PLATFORM)
            return bad("auxv entry type " + std::to_string(aux.type) +
                       " is added by the stack builder, not the caller");

    // Pass 1: the depth (distance below stack_top) of every object, Linux order.
    uint64_t depth = 8;  // zero end marker at the very top
    auto place = [&depth](const std::string& s) {
        depth = sat_add(depth, sat_add(s.size(), 1));
        return depth;
    };
    const uint64_t execfn_depth = place(spec.execfn);
    // Last string highest, so that the strings ascend in memory like argv does.
    std::vector<uint64_t> env_depth(spec.envp.size());
    for (size_t i = spec.envp.size(); i-- > 0;)
        env_depth[i] = place(spec.envp[i]);
    std::vector<uint64_t> arg_depth(spec.argv.size());
    for (size_t i = spec.argv.size(); i-- > 0;)
        arg_depth[i] = place(spec.argv[i]);
    depth = align16(depth);
    const bool has_platform = !spec.platform.empty();
    uint64_t platform_depth = 0;
    if (has_platform) {
        platform_depth = place(spec.platform);
        depth = align16(depth);
    }
    depth = sat_add(depth, spec.random.size());
    const uint64_t random_depth = depth;

    const uint64_t aux_count = sat_add(spec.auxv.size(), has_platform ? 4 : 3);  // + RANDOM, EXECFN, [PLATFORM], NULL
    const uint64_t words = sat_add(sat_add(3, spec.argv.size() + spec.envp.size()),  // argc + two NULLs
                                   sat_mul(aux_count, 2));
    depth = align16(sat_add(depth, sat_mul(words, 8)));

    if (depth > spec.max_size)
        return bad("arguments and environment too large (" + std::to_string(depth) +
                   " bytes, limit " + std::to_string(spec.max_size) + ")");
    if (depth > spec.stack_top)
        return bad("stack top " + hex(spec.stack_top) + " is too low for " +
                   std::to_string(depth) + " bytes of initial stack");

    // Pass 2: fill. bytes[0] is at guest address sp == stack_top - depth.
    StackImage image;
    image.sp = spec.stack_top - depth;
    image.bytes.assign(depth, 0);
    auto& bytes = image.bytes;
    const auto index = [depth](uint64_t d) { return static_cast<size_t>(depth - d); };
    const auto addr = [&spec](uint64_t d) { return spec.stack_top - d; };
    const auto put_string = [&](uint64_t d, const std::string& s) {
        std::memcpy(bytes.data() + index(d), s.data(), s.size());  // NUL already there
    };

    put_string(execfn_depth, spec.execfn);
    for (size_t i = 0; i < spec.envp.size(); i++)
        put_string(env_depth[i], spec.envp[i]);
    for (size_t i = 0; i < spec.argv.size(); i++)
        put_string(arg_depth[i], spec.argv[i]);
    if (has_platform)
        put_string(platform_depth, spec.platform);
    std::memcpy(bytes.data() + index(random_depth), spec.random.data(), spec.random.size());

    size_t at = 0;
    const auto push = [&](uint64_t value) {
        put_u64(bytes, at, value);
        at += 8;
    };
    push(spec.argv.size());
    for (uint64_t d : arg_depth)
        push(addr(d));
    push(0);
    for (uint64_t d : env_depth)
        push(addr(d));
    push(0);
    for (const auto& aux : spec.auxv) {
        push(aux.type);
        push(aux.value);
    }
    push(AT_RANDOM);
    push(addr(random_depth));
    push(AT_EXECFN);
    push(addr(execfn_depth));
    if (has_platform) {
        push(AT_PLATFORM);
        push(addr(platform_depth));
    }
    push(AT_NULL);
    push(0);
    return image;
}

}  // namespace lightvm::loader
