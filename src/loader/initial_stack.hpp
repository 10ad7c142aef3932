// The Linux initial process stack on the host: the freestanding builder
// (freestanding/exec/initial_stack.hpp, which draws the layout) behind
// std::string/std::vector and Result.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "freestanding/exec/initial_stack.hpp"

namespace lightvm::loader {

// Per-vector entry limit (see exec::kMaxStrings).
inline constexpr size_t kMaxStackStrings = exec::kMaxStrings;

using exec::AuxEntry;

struct StackImage {
    std::vector<uint8_t> bytes;  // to be copied to guest [stack_top - bytes.size(), stack_top)
    uint64_t sp = 0;             // initial RSP; 16-byte aligned; [sp] = argc; == stack_top - bytes.size()
};

struct StackSpec {
    uint64_t stack_top = 0;                 // exclusive, 16-byte aligned guest address
    std::vector<std::string> argv;
    std::vector<std::string> envp;
    // Caller's entries (exec::fill_auxv makes the standard ones). Must NOT
    // contain AT_RANDOM, AT_EXECFN, AT_PLATFORM or AT_NULL: those are
    // appended here, after the caller's, in that order.
    std::vector<AuxEntry> auxv;
    std::array<uint8_t, exec::kRandomSize> random{};  // AT_RANDOM bytes (libc's stack protector and pointer guard seed)
    std::string execfn;                     // AT_EXECFN string
    std::string platform = "x86_64";        // AT_PLATFORM string; empty omits AT_PLATFORM
    uint64_t max_size = 256 * 1024;         // error if the image would exceed this
};

// Errors are ErrorKind::BadInput with where == "exec".
Result<StackImage> build_initial_stack(const StackSpec& spec);

}  // namespace lightvm::loader
