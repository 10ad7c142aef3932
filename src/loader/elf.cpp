#include "loader/elf.hpp"

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "lightvm/abi.h"

namespace lightvm::loader {

namespace {

using abi::kPageSize;

constexpr const char* kDynamicMessage =
    "dynamically linked executables are not supported yet; link with -static";

tl::unexpected<Error> bad(std::string message) {
    return make_error(ErrorKind::BadExecutable, "elf", std::move(message));
}

std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
    return buf;
}

std::string seg_name(size_t index) {
    return "segment " + std::to_string(index);
}

uint64_t page_down(uint64_t addr) {
    return addr & ~(kPageSize - 1);
}

// Callers only pass values below kUserAddressLimit, so this cannot wrap.
uint64_t page_up(uint64_t addr) {
    return (addr + kPageSize - 1) & ~(kPageSize - 1);
}

bool add_overflows(uint64_t a, uint64_t b, uint64_t* sum) {
    return __builtin_add_overflow(a, b, sum);
}

// memcpy, because the file buffer has no alignment guarantee.
template <class T>
T read_at(std::span<const uint8_t> file, uint64_t offset) {
    T value;
    std::memcpy(&value, file.data() + offset, sizeof value);
    return value;
}

// Names for the machines people most often hand us by mistake.
const char* machine_name(uint16_t machine) {
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

std::string type_name(uint16_t type) {
    switch (type) {
    case ET_NONE: return "ET_NONE";
    case ET_REL: return "ET_REL";
    case ET_CORE: return "ET_CORE";
    default: return hex(type);
    }
}

Result<void> check_header(std::span<const uint8_t> file, const Elf64_Ehdr& eh) {
    const uint8_t elf_class = eh.e_ident[EI_CLASS];
    if (elf_class != ELFCLASS64) {
        if (elf_class == ELFCLASS32)
            return bad("not a 64-bit ELF (it is 32-bit)");
        return bad("not a 64-bit ELF (class " + std::to_string(elf_class) + ")");
    }
    const uint8_t data = eh.e_ident[EI_DATA];
    if (data != ELFDATA2LSB) {
        if (data == ELFDATA2MSB)
            return bad("not little-endian (it is big-endian)");
        return bad("not little-endian (data encoding " + std::to_string(data) + ")");
    }
    if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
        return bad("unsupported ELF version " +
                   std::to_string(eh.e_ident[EI_VERSION] != EV_CURRENT ? eh.e_ident[EI_VERSION]
                                                                       : eh.e_version));
    if (eh.e_machine != EM_X86_64) {
        std::string what = "wrong architecture: machine " + std::to_string(eh.e_machine);
        if (const char* name = machine_name(eh.e_machine))
            what += std::string(" (") + name + ")";
        return bad(what + ", lightvm runs x86-64");
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return bad("not an executable (type " + type_name(eh.e_type) + ")");
    if (eh.e_ehsize != sizeof(Elf64_Ehdr))
        return bad("bad ELF header size " + std::to_string(eh.e_ehsize) + " (expected " +
                   std::to_string(sizeof(Elf64_Ehdr)) + ")");
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        return bad("bad program header entry size " + std::to_string(eh.e_phentsize) +
                   " (expected " + std::to_string(sizeof(Elf64_Phdr)) + ")");
    // PN_XNUM means the real count is in section header 0; no static
    // executable needs that many, so refuse rather than trust sections.
    if (eh.e_phnum == PN_XNUM)
        return bad("too many program headers (extended numbering)");
    if (eh.e_phnum == 0)
        return bad("no program headers");
    if (eh.e_phnum > kMaxProgramHeaders)
        return bad("too many program headers (" + std::to_string(eh.e_phnum) + ", limit " +
                   std::to_string(kMaxProgramHeaders) + ")");
    const uint64_t table_size = uint64_t{eh.e_phnum} * eh.e_phentsize;
    if (eh.e_phoff > file.size() || table_size > file.size() - eh.e_phoff)
        return bad("program headers out of bounds (offset " + hex(eh.e_phoff) + ", " +
                   std::to_string(table_size) + " bytes, file is " +
                   std::to_string(file.size()) + " bytes)");
    if (eh.e_entry == 0)
        return bad(eh.e_type == ET_DYN ? "no entry point (e_entry is 0; a shared library?)"
                                       : "no entry point (e_entry is 0)");
    return {};
}

// Checks on one PT_LOAD that do not depend on where the image is placed.
Result<void> check_load(std::span<const uint8_t> file, size_t index, const Elf64_Phdr& ph) {
    if (ph.p_filesz > ph.p_memsz)
        return bad(seg_name(index) + ": file size exceeds memory size");
    // A pure-bss segment reads nothing from the file, so its offset is moot.
    if (ph.p_filesz != 0 &&
        (ph.p_offset > file.size() || ph.p_filesz > file.size() - ph.p_offset))
        return bad(seg_name(index) + ": extends past end of file");
    if (ph.p_align > 1 && (ph.p_align & (ph.p_align - 1)) != 0)
        return bad(seg_name(index) + ": alignment " + hex(ph.p_align) +
                   " is not a power of two");
    if (ph.p_vaddr % kPageSize != ph.p_offset % kPageSize)
        return bad(seg_name(index) + ": misaligned (vaddr and offset differ modulo page size)");
    uint64_t end;
    if (add_overflows(ph.p_vaddr, ph.p_memsz, &end))
        return bad("segment address overflow: " + seg_name(index) + " (vaddr " +
                   hex(ph.p_vaddr) + ", memsz " + hex(ph.p_memsz) + ")");
    return {};
}

}  // namespace

Result<ElfImage> parse_elf(std::span<const uint8_t> file, uint64_t pie_base) {
    // Magic before length, so a short text file is "not an ELF file".
    static constexpr uint8_t kMagic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
    const size_t magic_len = std::min<size_t>(file.size(), SELFMAG);
    if (magic_len > 0 && std::memcmp(file.data(), kMagic, magic_len) != 0) {
        if (file.size() >= 2 && file[0] == '#' && file[1] == '!')
            return bad("not an ELF file (it is a script; lightvm runs static executables)");
        return bad("not an ELF file (bad magic)");
    }
    if (file.size() < sizeof(Elf64_Ehdr))
        return bad("file too short for an ELF header (" + std::to_string(file.size()) +
                   " bytes)");

    const auto eh = read_at<Elf64_Ehdr>(file, 0);
    // Not TRY: with tl-expected 1.0 it cannot be used on Result<void>.
    if (auto ok = check_header(file, eh); !ok)
        return tl::unexpected(std::move(ok).error());

    std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
    for (size_t i = 0; i < phdrs.size(); i++)
        phdrs[i] = read_at<Elf64_Phdr>(file, eh.e_phoff + i * sizeof(Elf64_Phdr));

    // The most likely "wrong kind of binary", so say so before nitpicking segments.
    for (const auto& ph : phdrs)
        if (ph.p_type == PT_INTERP)
            return bad(kDynamicMessage);

    std::vector<size_t> loads;  // program header indices of non-empty PT_LOADs
    const Elf64_Phdr* pt_phdr = nullptr;
    for (size_t i = 0; i < phdrs.size(); i++) {
        const auto& ph = phdrs[i];
        if (ph.p_type == PT_PHDR) {
            if (pt_phdr)
                return bad("more than one PT_PHDR");
            pt_phdr = &ph;
        } else if (ph.p_type == PT_LOAD) {
            if (auto ok = check_load(file, i, ph); !ok)
                return tl::unexpected(std::move(ok).error());
            // An empty PT_LOAD maps nothing; keeping it would only distort image bounds.
            if (ph.p_memsz != 0)
                loads.push_back(i);
        }
    }
    if (loads.empty())
        return bad("no loadable segments");

    ElfImage image;
    image.kind = eh.e_type == ET_DYN ? ElfKind::StaticPie : ElfKind::Executable;
    image.phnum = eh.e_phnum;
    image.phentsize = eh.e_phentsize;

    // Relocation: for static-PIE, raw address v goes to pie_base + (v - low_page).
    // Written that way (not v + bias) so that overflow is detectable.
    uint64_t low_page = 0;
    uint64_t base = 0;
    if (image.kind == ElfKind::StaticPie) {
        if (pie_base % kPageSize != 0)
            return make_error(ErrorKind::BadInput, "elf",
                              "pie base " + hex(pie_base) + " is not page aligned");
        uint64_t low = UINT64_MAX;
        for (size_t i : loads)
            low = std::min(low, phdrs[i].p_vaddr);
        low_page = page_down(low);
        base = pie_base;
        image.load_bias = pie_base - low_page;  // modular: only ever added back
    }

    image.image_start = UINT64_MAX;
    for (size_t i : loads) {
        const auto& ph = phdrs[i];
        uint64_t vaddr, end;
        if (add_overflows(base, ph.p_vaddr - low_page, &vaddr) ||
            add_overflows(vaddr, ph.p_memsz, &end))
            return bad("segment address overflow: " + seg_name(i) + " relocated past 2^64");
        if (end > kUserAddressLimit)
            return bad(seg_name(i) + ": ends at " + hex(end) + ", above the user address limit " +
                       hex(kUserAddressLimit));
        image.segments.push_back(Segment{vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags});
        image.image_start = std::min(image.image_start, page_down(vaddr));
        image.image_end = std::max(image.image_end, page_up(end));
    }

    // Byte overlap only: segments sharing a page are normal (see Segment).
    for (size_t a = 0; a < loads.size(); a++) {
        for (size_t b = a + 1; b < loads.size(); b++) {
            const auto& sa = image.segments[a];
            const auto& sb = image.segments[b];
            if (sa.vaddr < sb.vaddr + sb.memsz && sb.vaddr < sa.vaddr + sa.memsz)
                return bad("overlapping segments " + std::to_string(loads[a]) + " and " +
                           std::to_string(loads[b]));
        }
    }

    // Entry: raw e_entry in messages, because that is what readelf shows.
    image.entry = eh.e_entry + image.load_bias;
    const Segment* entry_seg = nullptr;
    size_t entry_index = 0;
    for (size_t k = 0; k < image.segments.size(); k++) {
        const auto& s = image.segments[k];
        if (image.entry >= s.vaddr && image.entry - s.vaddr < s.memsz) {
            entry_seg = &s;
            entry_index = loads[k];
            break;
        }
    }
    if (!entry_seg)
        return bad("entry point " + hex(eh.e_entry) + " is outside the loaded segments");
    if (!(entry_seg->flags & PF_X))
        return bad("entry point " + hex(eh.e_entry) + " is in " + seg_name(entry_index) +
                   ", which is not executable");

    // AT_PHDR: libc finds PT_TLS (and static-PIE its own dynamic section) through it.
    const uint64_t table_size = uint64_t{eh.e_phnum} * eh.e_phentsize;
    if (pt_phdr) {
        // PT_PHDR must describe bytes that really get loaded (from the file).
        bool mapped = false;
        for (size_t i : loads) {
            const auto& ph = phdrs[i];
            if (pt_phdr->p_vaddr >= ph.p_vaddr &&
                pt_phdr->p_vaddr - ph.p_vaddr <= ph.p_filesz &&
                table_size <= ph.p_filesz - (pt_phdr->p_vaddr - ph.p_vaddr)) {
                mapped = true;
                break;
            }
        }
        if (!mapped)
            return bad("PT_PHDR (vaddr " + hex(pt_phdr->p_vaddr) +
                       ") is not inside a loadable segment");
        image.phdr_vaddr = base + (pt_phdr->p_vaddr - low_page);
    } else {
        for (size_t i : loads) {
            const auto& ph = phdrs[i];
            if (eh.e_phoff >= ph.p_offset && eh.e_phoff - ph.p_offset <= ph.p_filesz &&
                table_size <= ph.p_filesz - (eh.e_phoff - ph.p_offset)) {
                image.phdr_vaddr = base + (ph.p_vaddr - low_page) + (eh.e_phoff - ph.p_offset);
                break;
            }
        }
    }
    return image;
}

Result<void> load_segments(const ElfImage& image, std::span<const uint8_t> file,
                           std::span<uint8_t> dest, uint64_t dest_base, BssFill fill) {
    // Validate everything first so a failure leaves guest memory untouched.
    for (const auto& s : image.segments) {
        if (s.filesz > s.memsz ||
            (s.filesz != 0 &&
             (s.file_offset > file.size() || s.filesz > file.size() - s.file_offset)))
            return bad("segment at " + hex(s.vaddr) +
                       ": file data out of bounds (image does not match file)");
        if (s.vaddr < dest_base || s.vaddr - dest_base > dest.size() ||
            s.memsz > dest.size() - (s.vaddr - dest_base)) {
            uint64_t dest_end;
            if (add_overflows(dest_base, dest.size(), &dest_end))
                dest_end = UINT64_MAX;
            return bad("segment " + hex(s.vaddr) + "-" + hex(s.vaddr + s.memsz) +
                       " does not fit in guest memory " + hex(dest_base) + "-" + hex(dest_end));
        }
    }
    for (const auto& s : image.segments) {
        uint8_t* out = dest.data() + (s.vaddr - dest_base);
        if (s.filesz != 0)
            std::memcpy(out, file.data() + s.file_offset, s.filesz);
        if (s.memsz > s.filesz && fill == BssFill::Zero)
            std::memset(out + s.filesz, 0, s.memsz - s.filesz);
    }
    return {};
}

}  // namespace lightvm::loader
