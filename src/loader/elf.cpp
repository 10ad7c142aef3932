// The host side of ELF loading: freestanding/elf does the checking; this
// file turns its Problems into the CLI's one-line messages. A dynamically
// linked program's interpreter is found and loaded by the guest kernel
// (from the guest's file system), so here it is only named.
#include "loader/elf.hpp"

#include <cstdio>
#include <string>

namespace lightvm::loader {

namespace {

using elf::Problem;
using elf::Status;

tl::unexpected<Error> bad(std::string message) {
    return make_error(ErrorKind::BadExecutable, "elf", std::move(message));
}

std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
    return buf;
}

std::string num(uint64_t value) {
    return std::to_string(value);
}

std::string seg_name(size_t index) {
    return "segment " + num(index);
}

// Names for the machines people most often hand us by mistake.
const char* machine_name(uint64_t machine) {
    switch (machine) {
    case EM_386: return "i386";
    case EM_ARM: return "arm";
    case EM_AARCH64: return "aarch64";
    case EM_RISCV: return "riscv";
    case EM_PPC64: return "ppc64";
    case EM_S390: return "s390";
    case EM_MIPS: return "mips";
    case EM_IA_64: return "ia64";
    default: return nullptr;
    }
}

std::string type_name(uint64_t type) {
    switch (type) {
    case ET_NONE: return "ET_NONE";
    case ET_REL: return "ET_REL";
    case ET_CORE: return "ET_CORE";
    default: return hex(type);
    }
}

// The message for a parse/place/load problem, with the numbers that make
// it actionable. Raw (unrelocated) addresses where readelf would show them.
std::string describe(const Problem& p) {
    switch (p.status) {
    case Status::Script:
        return "not an ELF file (it is a script; lightvm runs ELF executables)";
    case Status::TooShort:
        return "file too short for an ELF header (" + num(p.value) + " bytes)";
    case Status::NotElf64:
        return p.value == ELFCLASS32 ? "not a 64-bit ELF (it is 32-bit)"
                                     : "not a 64-bit ELF (class " + num(p.value) + ")";
    case Status::NotLittleEndian:
        return p.value == ELFDATA2MSB ? "not little-endian (it is big-endian)"
                                      : "not little-endian (data encoding " + num(p.value) + ")";
    case Status::BadVersion:
        return "unsupported ELF version " + num(p.value);
    case Status::WrongMachine: {
        std::string what = "wrong architecture: machine " + num(p.value);
        if (const char* name = machine_name(p.value))
            what += std::string(" (") + name + ")";
        return what + ", lightvm runs x86-64";
    }
    case Status::NotExecutable:
        return "not an executable (type " + type_name(p.value) + ")";
    case Status::BadHeaderSize:
        return "bad ELF header size " + num(p.value) + " (expected " + num(p.limit) + ")";
    case Status::BadPhentsize:
        return "bad program header entry size " + num(p.value) + " (expected " + num(p.limit) + ")";
    case Status::TooManyProgramHeaders:
        return "too many program headers (" + num(p.value) + ", limit " + num(p.limit) + ")";
    case Status::PhdrsOutOfFile:
        return "program headers out of bounds (offset " + hex(p.value) + ", " + num(p.value2) +
               " bytes, file is " + num(p.limit) + " bytes)";
    case Status::NoEntry:
        return p.value == ET_DYN ? "no entry point (e_entry is 0; a shared library?)" : "no entry point (e_entry is 0)";
    case Status::FileSizeExceedsMemSize:
        return seg_name(p.index) + ": file size exceeds memory size";
    case Status::SegmentPastEof:
        return seg_name(p.index) + ": extends past end of file";
    case Status::AlignNotPowerOfTwo:
        return seg_name(p.index) + ": alignment " + hex(p.value) + " is not a power of two";
    case Status::Misaligned:
        return seg_name(p.index) + ": misaligned (vaddr and offset differ modulo page size)";
    case Status::AddressOverflow:
        return "segment address overflow: " + seg_name(p.index) + " (vaddr " + hex(p.value) + ", memsz " +
               hex(p.value2) + ")";
    case Status::OverlappingSegments:
        return "overlapping segments " + num(p.index) + " and " + num(p.index2);
    case Status::EntryOutside:
        return "entry point " + hex(p.value) + " is outside the loaded segments";
    case Status::EntryNotExecutable:
        return "entry point " + hex(p.value) + " is in " + seg_name(p.index) + ", which is not executable";
    case Status::PtPhdrNotLoaded:
        return "PT_PHDR (vaddr " + hex(p.value) + ") is not inside a loadable segment";
    case Status::RelocatedOverflow:
        return "segment address overflow: " + seg_name(p.index) + " relocated past 2^64";
    case Status::AboveLimit:
        return seg_name(p.index) + ": ends at " + hex(p.value) + ", above the user address limit " + hex(p.limit);
    case Status::BadInterp:
    case Status::BadTls:
        return seg_name(p.index) + ": " + elf::message(p.status);
    case Status::FileMismatch:
        return "segment at " + hex(p.value) + ": file data out of bounds (image does not match file)";
    default:
        return elf::message(p.status);
    }
}

tl::unexpected<Error> fail(const Problem& p) {
    return bad(describe(p));
}

}  // namespace

Result<ElfImage> parse_elf(std::span<const uint8_t> file, uint64_t pie_base) {
    elf::Header header;
    if (Problem p = elf::read_header(file.data(), file.size(), file.size(), &header); !p.ok())
        return fail(p);
    elf::Image img;
    if (Problem p = elf::parse(file.data(), file.size(), file.size(), &img); !p.ok())
        return fail(p);
    if (Problem p = elf::place(&img, pie_base); !p.ok()) {
        if (p.status == Status::BaseUnaligned)
            return make_error(ErrorKind::BadInput, "elf", "pie base " + hex(pie_base) + " is not page aligned");
        return fail(p);
    }

    ElfImage image;
    image.kind = img.kind == elf::Kind::Dynamic ? ElfKind::StaticPie : ElfKind::Executable;
    image.load_bias = img.load_bias;
    image.entry = img.entry;
    image.phdr_vaddr = img.phdr_vaddr;
    image.phnum = img.phnum;
    image.phentsize = img.phentsize;
    image.image_start = img.image_start;
    image.image_end = img.image_end;
    if (img.has_interp) {
        const char* path = nullptr;
        if (Problem p = elf::interp_path(img, file.data(), file.size(), &path); !p.ok())
            return fail(p);
        image.interp = path;
    }
    image.segments.reserve(img.load_count);
    for (uint16_t i = 0; i < img.phnum; i++)
        if (Segment s; elf::segment(img, i, &s))
            image.segments.push_back(s);
    return image;
}

Result<void> load_segments(const ElfImage& image, std::span<const uint8_t> file,
                           std::span<uint8_t> dest, uint64_t dest_base, BssFill fill, const PlaceSegment& place) {
    // Validate everything first so a failure leaves guest memory untouched.
    for (const auto& s : image.segments) {
        Problem p = elf::check_segment_load(s, file.size(), dest.size(), dest_base);
        if (p.status == Status::DestinationTooSmall)
            return bad("segment " + hex(p.value) + "-" + hex(p.value2) + " does not fit in guest memory " +
                       hex(dest_base) + "-" + hex(p.limit));
        if (!p.ok())
            return fail(p);
    }
    for (const auto& s : image.segments)
        if (!place || !place(s))
            elf::copy_segment(s, file.data(), dest.data(), dest_base, fill);
    return {};
}

}  // namespace lightvm::loader
