// strace-style rendering of one x86-64 Linux system call, for the guest
// kernel's syscall tracer. Pure formatting: no I/O, no allocation.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct SyscallRecord {
    uint64_t nr;
    uint64_t args[6];
    int64_t result;  // raw kernel return value (-errno on failure)
};

// Says whether [addr, addr+len) may be read. The kernel passes a checker for
// its address space; a nullptr checker means nothing is readable. Memory the
// checker accepts is then read directly through the address.
using ReadableFn = bool (*)(uint64_t addr, uint64_t len, void* ctx);

const char* syscall_name(uint64_t nr);  // nullptr when unknown
// Whether an argument format and result kind (kernel/syscalls/table.def)
// use only letters this formatter knows, at most one per register.
bool syscall_format_ok(const char* args, char result);
const char* errno_name(int64_t err);    // "ENOENT" for 2; nullptr when unknown
const char* errno_text(int64_t err);    // "No such file or directory" for 2; nullptr when unknown

// One completed call, e.g.
//   write(1, "hello\n", 6) = 6
//   openat(AT_FDCWD, "/etc/x", O_RDONLY) = -1 ENOENT (No such file or directory)
//   exit_group(0) = ?
// followed by '\n'. Returns the length written excluding the NUL. The output
// is always NUL-terminated when cap > 0 and always ends in '\n' when cap > 1,
// even if the middle had to be cut short.
size_t format_syscall(char* out, size_t cap, const SyscallRecord& rec, ReadableFn readable, void* ctx);

// Same, for a call that has not returned (or never will, like exit_group):
// rec.result is ignored, kernel-filled buffers print as pointers, and the
// result prints as "?".
size_t format_syscall_entry(char* out, size_t cap, const SyscallRecord& rec, ReadableFn readable, void* ctx);

}  // namespace lightvm::guest
