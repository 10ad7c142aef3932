#include "freestanding/exec/initial_stack.hpp"

#include "freestanding/elf/elf_abi.hpp"

namespace lightvm::exec {

namespace {

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

Problem problem(Status status, uint64_t value = 0, uint64_t limit = 0) {
    return Problem{status, value, limit};
}

bool has_nul(Text t) {
    for (size_t i = 0; i < t.size; i++)
        if (t.data[i] == 0)
            return true;
    return false;
}

// Exactly `count` strings, the last one ending the block.
bool well_formed(const Strings& s) {
    if (s.count == 0)
        return s.size == 0;
    if (s.data == nullptr || s.size == 0 || s.data[s.size - 1] != 0)
        return false;
    size_t nuls = 0;
    for (size_t i = 0; i < s.size; i++)
        nuls += s.data[i] == 0;
    return nuls == s.count;
}

// Depths (distance below stack_top) of everything placed above the pointers.
struct Layout {
    uint64_t strings_depth;   // argv block, then envp block, then execfn
    uint64_t execfn_depth;
    uint64_t platform_depth;  // 0: no platform string
    uint64_t random_depth;
    uint64_t size;            // total, 16-byte aligned
};

Layout layout(const StackSpec& spec) {
    Layout l{};
    uint64_t depth = 8;  // zero end marker at the very top
    depth = sat_add(depth, sat_add(spec.execfn.size, 1));
    l.execfn_depth = depth;
    depth = sat_add(depth, sat_add(spec.envp.size, spec.argv.size));
    l.strings_depth = depth;
    depth = align16(depth);
    if (spec.platform.size != 0) {
        l.platform_depth = sat_add(depth, spec.platform.size + 1);
        depth = align16(l.platform_depth);
    }
    depth = sat_add(depth, kRandomSize);
    l.random_depth = depth;
    const uint64_t aux_count = sat_add(spec.auxc, spec.platform.size != 0 ? 4 : 3);  // + RANDOM, EXECFN, [PLATFORM], NULL
    const uint64_t words = sat_add(sat_add(3, sat_add(spec.argv.count, spec.envp.count)),  // argc + two NULLs
                                   sat_mul(aux_count, 2));
    l.size = align16(sat_add(depth, sat_mul(words, 8)));
    return l;
}

// Explicit little-endian, so the image is right whatever the host does.
void put_u64(uint8_t* at, uint64_t value) {
    for (int i = 0; i < 8; i++)
        at[i] = static_cast<uint8_t>(value >> (8 * i));
}

// Writes one pointer per string of the block at `words`, then a NULL.
uint8_t* put_pointers(uint8_t* words, const Strings& s, uint64_t addr) {
    for (size_t i = 0; i < s.size; i++) {
        if (i == 0 || s.data[i - 1] == 0) {
            put_u64(words, addr + i);
            words += 8;
        }
    }
    put_u64(words, 0);
    return words + 8;
}

}  // namespace

const char* message(Status status) {
    switch (status) {
    case Status::Ok: return "ok";
    case Status::StackTopUnaligned: return "stack top is not 16-byte aligned";
    case Status::TooManyArguments: return "too many arguments";
    case Status::TooManyEnvironment: return "too many environment variables";
    case Status::BadArguments: return "argument block does not match the argument count";
    case Status::BadEnvironment: return "environment block does not match the variable count";
    case Status::NulInExecfn: return "executable name contains a NUL byte";
    case Status::NulInPlatform: return "platform string contains a NUL byte";
    case Status::ReservedAuxType: return "auxv entry type is added by the stack builder, not the caller";
    case Status::NoRandom: return "no AT_RANDOM bytes";
    case Status::TooLarge: return "arguments and environment too large";
    case Status::StackTopTooLow: return "stack top is too low for the initial stack";
    case Status::BufferTooSmall: return "buffer too small for the initial stack";
    }
    return "unknown initial stack problem";
}

Problem measure_stack(const StackSpec& spec, uint64_t* size) {
    if (spec.stack_top % 16 != 0)
        return problem(Status::StackTopUnaligned, spec.stack_top);
    if (spec.argv.count > kMaxStrings)
        return problem(Status::TooManyArguments, spec.argv.count, kMaxStrings);
    if (spec.envp.count > kMaxStrings)
        return problem(Status::TooManyEnvironment, spec.envp.count, kMaxStrings);
    if (!well_formed(spec.argv))
        return problem(Status::BadArguments);
    if (!well_formed(spec.envp))
        return problem(Status::BadEnvironment);
    // The program sees C strings: an embedded NUL would silently truncate.
    if (has_nul(spec.execfn))
        return problem(Status::NulInExecfn);
    if (has_nul(spec.platform))
        return problem(Status::NulInPlatform);
    // A stray AT_NULL would cut the vector short; duplicates confuse getauxval().
    for (size_t i = 0; i < spec.auxc; i++) {
        const uint64_t type = spec.auxv[i].type;
        if (type == AT_NULL || type == AT_RANDOM || type == AT_EXECFN || type == AT_PLATFORM)
            return problem(Status::ReservedAuxType, type);
    }
    if (spec.random == nullptr)
        return problem(Status::NoRandom);
    const uint64_t total = layout(spec).size;
    if (total > spec.max_size)
        return problem(Status::TooLarge, total, spec.max_size);
    if (total > spec.stack_top)
        return problem(Status::StackTopTooLow, total, spec.stack_top);
    *size = total;
    return {};
}

Problem build_stack(const StackSpec& spec, uint8_t* buf, size_t cap, uint64_t* sp) {
    uint64_t size = 0;
    if (Problem p = measure_stack(spec, &size); !p.ok())
        return p;
    if (size > cap)
        return problem(Status::BufferTooSmall, size, cap);
    const Layout l = layout(spec);
    const uint64_t base = spec.stack_top - size;  // the address of buf[0]
    const auto at = [&](uint64_t depth) { return buf + (size - depth); };
    const auto addr = [&](uint64_t depth) { return spec.stack_top - depth; };
    __builtin_memset(buf, 0, size);

    // Strings: argv then envp (already packed as the stack wants them), execfn.
    uint8_t* strings = at(l.strings_depth);
    if (spec.argv.size)
        __builtin_memcpy(strings, spec.argv.data, spec.argv.size);
    if (spec.envp.size)
        __builtin_memcpy(strings + spec.argv.size, spec.envp.data, spec.envp.size);
    if (spec.execfn.size)
        __builtin_memcpy(at(l.execfn_depth), spec.execfn.data, spec.execfn.size);  // NUL already there
    if (spec.platform.size)
        __builtin_memcpy(at(l.platform_depth), spec.platform.data, spec.platform.size);
    __builtin_memcpy(at(l.random_depth), spec.random, kRandomSize);

    uint8_t* words = buf;
    put_u64(words, spec.argv.count);
    words = put_pointers(words + 8, spec.argv, addr(l.strings_depth));
    words = put_pointers(words, spec.envp, addr(l.strings_depth) + spec.argv.size);
    const auto push_aux = [&words](uint64_t type, uint64_t value) {
        put_u64(words, type);
        put_u64(words + 8, value);
        words += 16;
    };
    for (size_t i = 0; i < spec.auxc; i++)
        push_aux(spec.auxv[i].type, spec.auxv[i].value);
    push_aux(AT_RANDOM, addr(l.random_depth));
    push_aux(AT_EXECFN, addr(l.execfn_depth));
    if (spec.platform.size)
        push_aux(AT_PLATFORM, addr(l.platform_depth));
    push_aux(AT_NULL, 0);
    *sp = base;
    return {};
}

size_t fill_auxv(const ProgramAux& aux, AuxEntry* out) {
    size_t n = 0;
    const auto put = [&](uint64_t type, uint64_t value) { out[n++] = AuxEntry{type, value}; };
    if (aux.sysinfo_ehdr)
        put(AT_SYSINFO_EHDR, aux.sysinfo_ehdr);
    put(AT_HWCAP, aux.hwcap);
    put(AT_PAGESZ, aux.pagesz);
    put(AT_CLKTCK, aux.clktck);
    put(AT_PHDR, aux.phdr);
    put(AT_PHENT, aux.phent);
    put(AT_PHNUM, aux.phnum);
    put(AT_BASE, aux.base);
    put(AT_FLAGS, aux.flags);
    put(AT_ENTRY, aux.entry);
    put(AT_UID, aux.uid);
    put(AT_EUID, aux.euid);
    put(AT_GID, aux.gid);
    put(AT_EGID, aux.egid);
    put(AT_SECURE, aux.secure ? 1 : 0);
    if (aux.hwcap2)
        put(AT_HWCAP2, aux.hwcap2);
    return n;
}

}  // namespace lightvm::exec
