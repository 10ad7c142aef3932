// Static x86-64 ELF executables: strict parsing and loading into guest memory.
//
// The file comes from the user and is untrusted, so every field the loader
// relies on is checked before use, with overflow-safe arithmetic, and each
// failure names the exact problem. Only static executables are accepted:
// ET_EXEC, and ET_DYN without PT_INTERP (static-PIE, which relocates
// itself). Segments are copied, not mmapped, so nothing here depends on the
// host page size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace lightvm::loader {

// Highest address (exclusive) a segment may reach: the lower canonical half.
inline constexpr uint64_t kUserAddressLimit = 1ull << 47;
// More would be pathological; real static binaries have about a dozen.
inline constexpr uint16_t kMaxProgramHeaders = 128;

// One PT_LOAD segment. Two segments never overlap byte-wise, but they may
// share a page (e.g. text ending and data starting in the same 4 KiB page),
// so whoever maps pages must merge the flags of every segment touching it.
struct Segment {
    uint64_t vaddr = 0;        // relocated (load_bias applied)
    uint64_t memsz = 0;
    uint64_t file_offset = 0;
    uint64_t filesz = 0;       // <= memsz; [filesz, memsz) is zero-filled
    uint32_t flags = 0;        // PF_R|PF_W|PF_X
};

enum class ElfKind { Executable, StaticPie };

struct ElfImage {
    ElfKind kind = ElfKind::Executable;
    uint64_t load_bias = 0;    // 0 for ET_EXEC, pie_base - lowest page for static-PIE
    uint64_t entry = 0;        // relocated; inside a PF_X segment
    uint64_t phdr_vaddr = 0;   // relocated vaddr of the program headers (AT_PHDR), 0 if not mapped
    uint16_t phnum = 0;
    uint16_t phentsize = 0;
    uint64_t image_start = 0;  // page-aligned down lowest relocated PT_LOAD vaddr
    uint64_t image_end = 0;    // page-aligned up end of the highest relocated PT_LOAD
    std::vector<Segment> segments;  // PT_LOAD with memsz > 0, in file order
};

// Parse and strictly validate a static x86-64 executable held in memory.
// pie_base: where an ET_DYN (static-PIE) image's lowest page is placed (page
// aligned); ignored for ET_EXEC. Errors are ErrorKind::BadExecutable with
// where == "elf"; segment numbers in messages are program header indices,
// as `readelf -l` numbers them.
Result<ElfImage> parse_elf(std::span<const uint8_t> file, uint64_t pie_base);

// Copy PT_LOAD segments into `dest`, a host view of guest memory starting at
// guest address dest_base (guest address a is at dest[a - dest_base]). Bytes
// [filesz, memsz) of each segment are zeroed; bytes outside the segments are
// left untouched. Every segment must lie inside [dest_base, dest_base +
// dest.size()) and inside `file`; nothing is written unless all of them do.
// BssFill::AlreadyZero skips the zeroing when `dest` is known to be fresh
// (a new memfd): touching bss pages the program may never use costs a host
// page fault each.
enum class BssFill { Zero, AlreadyZero };
Result<void> load_segments(const ElfImage& image, std::span<const uint8_t> file,
                           std::span<uint8_t> dest, uint64_t dest_base, BssFill fill = BssFill::Zero);

}  // namespace lightvm::loader
