// The Linux initial process stack (x86-64 psABI 3.4.1, as execve builds it):
// what a static libc's _start expects to find at RSP.
//
//   stack_top  ->  8 zero bytes (end marker, as Linux leaves)
//                  execfn string, envp strings, argv strings   (NUL-terminated)
//                  padding to 16, platform string ("x86_64")
//                  padding to 16, 16 AT_RANDOM bytes
//                  padding so that sp ends up 16-byte aligned
//                  auxv pairs ... AT_NULL, 0
//                  0, envp[envc-1] ... envp[0]
//                  0, argv[argc-1] ... argv[0]
//   sp         ->  argc
//
// The image is built in a host buffer with guest addresses in it, so the
// caller copies it to [sp, stack_top) without patching anything.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lightvm::loader {

// Per-vector entry limit. Linux allows far more (MAX_ARG_STRINGS), but this
// is plenty for a micro-VM and keeps the size arithmetic trivially safe.
inline constexpr size_t kMaxStackStrings = 65536;

struct AuxEntry {
    uint64_t type = 0;
    uint64_t value = 0;
};

struct StackImage {
    std::vector<uint8_t> bytes;  // to be copied to guest [stack_top - bytes.size(), stack_top)
    uint64_t sp = 0;             // initial RSP; 16-byte aligned; [sp] = argc; == stack_top - bytes.size()
};

struct StackSpec {
    uint64_t stack_top = 0;                 // exclusive, 16-byte aligned guest address
    std::vector<std::string> argv;
    std::vector<std::string> envp;
    // Caller's entries (AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_ENTRY,
    // AT_UID, ...). Must NOT contain AT_RANDOM, AT_EXECFN, AT_PLATFORM or
    // AT_NULL: those are appended here, after the caller's, in that order.
    std::vector<AuxEntry> auxv;
    std::array<uint8_t, 16> random{};       // AT_RANDOM bytes (libc's stack protector and pointer guard seed)
    std::string execfn;                     // AT_EXECFN string
    std::string platform = "x86_64";        // AT_PLATFORM string; empty omits AT_PLATFORM
    uint64_t max_size = 256 * 1024;         // error if the image would exceed this
};

// Errors are ErrorKind::BadInput with where == "exec".
Result<StackImage> build_initial_stack(const StackSpec& spec);

}  // namespace lightvm::loader
