// The guest kernel as a range of a host file, so that every VM maps its
// read-only segment (text and rodata, ~317 KiB) copy-on-write from one
// page-cache copy instead of copying it into its own RAM: the embedded
// blob (kernel_blob.S, page-aligned) inside our own executable.
// docs/design.md, "Guest RAM".
#pragma once

#include <cstdint>
#include <optional>
#include <span>


namespace lightvm {

struct KernelFile {
    int fd;           // our executable, opened once (O_CLOEXEC), kept for the process's life
    uint64_t offset;  // where the embedded kernel ELF starts in it
};

// Null when the blob cannot be found in the file (then the kernel is copied).
std::optional<KernelFile> kernel_file(std::span<const uint8_t> blob);

}  // namespace lightvm
