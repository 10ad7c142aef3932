// The Linux initial process stack (x86-64 psABI 3.4.1, as execve builds it):
// what a libc's _start (or ld.so's) expects to find at RSP.
//
//   stack_top  ->  8 zero bytes (end marker, as Linux leaves)
//                  argv strings, envp strings, execfn string (ascending, NUL-terminated)
//                  padding to 16, platform string ("x86_64")
//                  padding to 16, 16 AT_RANDOM bytes
//                  padding so that sp ends up 16-byte aligned
//                  auxv pairs ... AT_NULL, 0
//                  0, envp[envc-1] ... envp[0]
//                  0, argv[argc-1] ... argv[0]
//   sp         ->  argc
//
// Freestanding, for the host loader and the guest kernel's execve: the
// image is written into a caller-provided buffer with the final user
// addresses in it, so the caller copies it to [sp, stack_top) unchanged.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::exec {

// Per-vector entry limit. Linux allows far more (MAX_ARG_STRINGS), but this
// is plenty for a micro-VM and keeps the size arithmetic trivially safe.
inline constexpr size_t kMaxStrings = 65536;
inline constexpr size_t kRandomSize = 16;  // AT_RANDOM bytes

struct AuxEntry {
    uint64_t type = 0;
    uint64_t value = 0;
};

// `count` NUL-terminated strings packed back to back in data[0, size): the
// way execve copies argv or envp out of the old process, and the way they
// end up on the new stack. size == 0 when count == 0.
struct Strings {
    const char* data = nullptr;
    size_t size = 0;
    size_t count = 0;
};

// A string that is not NUL-terminated in the caller's storage.
struct Text {
    const char* data = nullptr;
    size_t size = 0;
};

struct StackSpec {
    uint64_t stack_top = 0;  // exclusive, 16-byte aligned user address
    Strings argv;
    Strings envp;
    // Caller's auxv entries (see fill_auxv). Must NOT contain AT_RANDOM,
    // AT_EXECFN, AT_PLATFORM or AT_NULL: the builder appends those, after
    // the caller's, in that order.
    const AuxEntry* auxv = nullptr;
    size_t auxc = 0;
    const uint8_t* random = nullptr;  // kRandomSize bytes: seed of libc's stack protector and pointer guard
    Text execfn;                      // AT_EXECFN string
    Text platform;                    // AT_PLATFORM string; empty omits AT_PLATFORM
    uint64_t max_size = 256 * 1024;   // refused if the image would be larger
};

enum class Status : uint8_t {
    Ok = 0,
    StackTopUnaligned,   // value: stack_top
    TooManyArguments,    // value: count, limit: kMaxStrings
    TooManyEnvironment,  // value: count, limit: kMaxStrings
    BadArguments,        // the argv block does not hold exactly `count` strings
    BadEnvironment,      // the envp block does not hold exactly `count` strings
    NulInExecfn,
    NulInPlatform,
    ReservedAuxType,     // value: the type
    NoRandom,            // random is nullptr
    TooLarge,            // value: image size, limit: max_size
    StackTopTooLow,      // value: image size, limit: stack_top
    BufferTooSmall,      // value: image size, limit: buffer capacity
};

const char* message(Status status);

struct Problem {
    Status status = Status::Ok;
    uint64_t value = 0;
    uint64_t limit = 0;
    bool ok() const { return status == Status::Ok; }
};

// Validates the spec and computes the image size (the distance from sp to
// stack_top; sp = stack_top - size, 16-byte aligned).
Problem measure_stack(const StackSpec& spec, uint64_t* size);

// Writes the image into buf[0, size) (buf[0] goes to address sp) and
// returns sp. The whole image is written, padding included (as zeros).
Problem build_stack(const StackSpec& spec, uint8_t* buf, size_t cap, uint64_t* sp);

// What the kernel tells a new program through the standard auxv entries.
struct ProgramAux {
    uint64_t phdr = 0;         // AT_PHDR: the executable's program headers, as loaded
    uint64_t phent = 0;        // AT_PHENT
    uint64_t phnum = 0;        // AT_PHNUM
    uint64_t entry = 0;        // AT_ENTRY: the executable's entry (not the interpreter's)
    uint64_t base = 0;         // AT_BASE: where the interpreter (ld.so) is loaded; 0 without one
    uint64_t pagesz = abi::kPageSize;  // AT_PAGESZ
    uint64_t clktck = 100;     // AT_CLKTCK (USER_HZ)
    uint64_t flags = 0;        // AT_FLAGS
    uint64_t hwcap = 0;        // AT_HWCAP: CPUID.1:EDX on x86
    uint64_t hwcap2 = 0;       // AT_HWCAP2; omitted when 0
    uint64_t sysinfo_ehdr = 0; // AT_SYSINFO_EHDR: the vDSO; omitted when 0 (none)
    uint64_t uid = 0, euid = 0, gid = 0, egid = 0;
    bool secure = false;       // AT_SECURE
};
inline constexpr size_t kMaxProgramAux = 16;

// The standard entries in Linux's order (fs/binfmt_elf.c create_elf_tables),
// without the builder's own (AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL).
// `out` has room for kMaxProgramAux entries; returns how many were written.
size_t fill_auxv(const ProgramAux& aux, AuxEntry* out);

}  // namespace lightvm::exec
