// Loading a program into the current (fresh) address space: its ELF
// segments, its interpreter, the stack with argv/envp/auxv. Shared by the
// boot (the image the monitor placed) and execve (a file).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "freestanding/elf/elf.hpp"
#include "freestanding/exec/initial_stack.hpp"

namespace lightvm::guest {

struct OpenFile;

struct ProgramStart {
    uint64_t entry;  // where the program (or its interpreter) starts
    uint64_t sp;     // argc at [sp]
};

// What to load. `file` nullptr: the boot image at BootInfo.image_gpa.
struct ProgramSource {
    OpenFile* file;
    const uint8_t* head;  // the file's first bytes (at least the headers)
    size_t head_len;
    uint64_t size;        // the file's size
    OpenFile* interp;     // the opened PT_INTERP file, or nullptr
};

// The strings of the new program, packed NUL-terminated one after another.
struct ProgramArgs {
    exec::Strings argv, envp;
    exec::Text execfn;
};

// Why a load failed: -errno and words for the boot path's report.
struct LoadError {
    long err;
    const char* what;
};

// Parses the ELF headers (ENOEXEC when it is not a loadable x86-64 ELF).
long exec_parse(const ProgramSource& src, elf::Image* img);
// The PT_INTERP path of a parsed image, or nullptr when it has none.
const char* exec_interp_path(const elf::Image& img, const ProgramSource& src);
// Maps the program into the current address space (empty, loaded) and
// builds its stack. On failure the address space is half-built.
LoadError exec_load(const ProgramSource& src, elf::Image& img, const ProgramArgs& args, ProgramStart* out);

}  // namespace lightvm::guest
