// The system call table (table.def) as data, for whoever needs the facts
// rather than the handlers: the strace formatter, the hosted tests. Only
// constants (built at compile time), usable in the guest and on the host.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/syscalls/numbers.hpp"

namespace lightvm::guest {

struct SyscallDesc {
    uint16_t nr;
    const char* name;
    const char* args;  // strace argument format (trace/strace.cpp)
    char result;       // strace result kind
    bool implemented;  // false: the kernel returns ENOSYS
};

// lightvm's private test-hook call (proc/test_hooks.cpp), far above Linux's
// numbers (its PRIVATE row in table.def).
inline constexpr unsigned kSysTestHook = 511;

inline constexpr SyscallDesc kSyscallRows[] = {
#define SYSCALL(name, handler, args, result) {__NR_##name, #name, args, result, true},
#define NOSYS(name, args, result) {__NR_##name, #name, args, result, false},
#define PRIVATE(nr, name, args, result) {nr, #name, args, result, true},
#include "kernel/syscalls/table.def"
};
inline constexpr size_t kSyscallRowCount = sizeof kSyscallRows / sizeof kSyscallRows[0];

namespace syscall_table_detail {

constexpr bool in_number_order() {
    for (size_t i = 1; i < kSyscallRowCount; ++i)
        if (kSyscallRows[i].nr <= kSyscallRows[i - 1].nr)
            return false;
    return true;
}
// Strictly increasing: also no number twice.
static_assert(in_number_order(), "table.def: rows out of order or a number twice");

inline constexpr uint64_t kLimit = kSyscallRows[kSyscallRowCount - 1].nr + 1;

// Row index by number (-1: none), so a lookup is one load per trace line.
struct Index {
    int16_t row[kLimit];
};
constexpr Index make_index() {
    Index x{};
    for (auto& r : x.row)
        r = -1;
    for (size_t i = 0; i < kSyscallRowCount; ++i)
        x.row[kSyscallRows[i].nr] = static_cast<int16_t>(i);
    return x;
}
inline constexpr Index kIndex = make_index();

}  // namespace syscall_table_detail

// nullptr for numbers no row names.
inline const SyscallDesc* syscall_desc(uint64_t nr) {
    using namespace syscall_table_detail;
    if (nr >= kLimit || kIndex.row[nr] < 0)
        return nullptr;
    return &kSyscallRows[kIndex.row[nr]];
}

}  // namespace lightvm::guest
