#include "kernel/exec/elf_map.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

int prot_of(uint32_t pflags) {
    return ((pflags & PF_R) ? PROT_READ : 0) | ((pflags & PF_W) ? PROT_WRITE : 0) | ((pflags & PF_X) ? PROT_EXEC : 0);
}

long map_file_part(ElfSource src, uint64_t at, uint64_t len, int prot, uint64_t offset) {
    if (!src.file)
        return mem_map_image(at, len, prot, offset);
    return mem_mmap(at, len, prot, MAP_PRIVATE | MAP_FIXED, src.file, offset);
}

}  // namespace

// Neighbours may share a page (text ends and data begins in it): that page
// is mapped once, with both protections.
long elf_map_segments(const elf::Image& img, ElfSource src) {
    uint64_t prev_end = 0;  // page-aligned end of the previous segment's pages
    int prev_prot = 0;
    for (uint16_t i = 0; i < img.phnum; ++i) {
        elf::Segment s;
        if (!elf::segment(img, i, &s))
            continue;
        int prot = prot_of(s.flags);
        uint64_t start = page_down(s.vaddr), file_end = page_up(s.vaddr + s.filesz), end = page_up(s.vaddr + s.memsz);
        uint64_t off = page_down(s.file_offset);
        if (start < prev_end) {  // shared first page
            long r = mem_mprotect(start, kPage, prot | prev_prot);
            if (r < 0)
                return r;
            off += prev_end - start;
            start = prev_end;
        }
        if (file_end > start) {
            long r = map_file_part(src, start, file_end - start, prot, off);
            if (r < 0)
                return r;
        }
        uint64_t anon = file_end > start ? file_end : start;
        if (end > anon) {
            long r = mem_mmap(anon, end - anon, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, nullptr, 0);
            if (r < 0)
                return r;
        }
        // The rest of the last file page is not the segment's: bss reads as zero.
        uint64_t data_end = s.vaddr + s.filesz;
        if ((prot & PROT_WRITE) && s.memsz > s.filesz && data_end < file_end && clear_user(data_end, file_end - data_end) < 0)
            return -err::kFault;
        prev_end = end;
        prev_prot = prot;
    }
    return 0;
}

}  // namespace lightvm::guest
