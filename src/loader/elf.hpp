// Static x86-64 ELF executables on the host: the freestanding parser
// (freestanding/elf) behind Result, with one-line messages that name the
// exact problem. Only static executables are accepted for now: ET_EXEC, and
// ET_DYN without PT_INTERP (static-PIE, which relocates itself). Segments
// are copied, not mmapped, so nothing here depends on the host page size.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "freestanding/elf/elf.hpp"

namespace lightvm::loader {

using elf::kMaxProgramHeaders;
using elf::kUserAddressLimit;

// One PT_LOAD segment, relocated (see elf::Segment: segments may share a page).
using Segment = elf::Segment;

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
    std::string interp;        // PT_INTERP (a dynamically linked program): the guest kernel loads it
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
using elf::BssFill;
// `place`, when given, may put a segment in place itself (true: not copied).
using PlaceSegment = std::function<bool(const elf::Segment&)>;
Result<void> load_segments(const ElfImage& image, std::span<const uint8_t> file,
                           std::span<uint8_t> dest, uint64_t dest_base, BssFill fill = BssFill::Zero,
                           const PlaceSegment& place = {});

}  // namespace lightvm::loader
