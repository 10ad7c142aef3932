#include "monitor/kernel_file.hpp"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.hpp"

namespace lightvm {

namespace {

constexpr uint64_t kPage = 4096;

struct Lookup {
    uintptr_t address;
    std::optional<uint64_t> offset;
};

// The file offset of `address` in the main executable's loaded segments.
int find_offset(dl_phdr_info* info, size_t, void* arg) {
    auto* l = static_cast<Lookup*>(arg);
    if (info->dlpi_name && info->dlpi_name[0])
        return 0;  // a shared library; the blob is in the executable
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& p = info->dlpi_phdr[i];
        const uintptr_t start = info->dlpi_addr + p.p_vaddr;
        if (p.p_type == PT_LOAD && l->address >= start && l->address < start + p.p_filesz) {
            l->offset = p.p_offset + (l->address - start);
            return 1;
        }
    }
    return 0;
}

std::optional<KernelFile> open_kernel_file(std::span<const uint8_t> blob) {
    Lookup l{reinterpret_cast<uintptr_t>(blob.data()), std::nullopt};
    dl_iterate_phdr(find_offset, &l);
    if (!l.offset || *l.offset % kPage || blob.size() < kPage)
        return std::nullopt;
    UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    // The same bytes on disk as in memory (it is the inode we run from).
    uint8_t head[kPage];
    if (!fd.valid() || ::pread(fd.get(), head, kPage, static_cast<off_t>(*l.offset)) != kPage ||
        std::memcmp(head, blob.data(), kPage) != 0)
        return std::nullopt;
    return KernelFile{fd.release(), *l.offset};
}

}  // namespace

std::optional<KernelFile> kernel_file(std::span<const uint8_t> blob) {
    static const std::optional<KernelFile> file = open_kernel_file(blob);
    return file;
}

}  // namespace lightvm
