#include "freestanding/elf/elf.hpp"

#include "lightvm/abi.h"

namespace lightvm::elf {

namespace {

using abi::kPageSize;

uint64_t page_down(uint64_t addr) {
    return addr & ~(kPageSize - 1);
}

// Saturates instead of wrapping, so a hostile end near 2^64 stays huge.
uint64_t page_up(uint64_t addr) {
    return addr > UINT64_MAX - (kPageSize - 1) ? UINT64_MAX : (addr + kPageSize - 1) & ~(kPageSize - 1);
}

bool add_overflows(uint64_t a, uint64_t b, uint64_t* sum) {
    return __builtin_add_overflow(a, b, sum);
}

// Is [offset, offset + size) inside [0, limit)? Overflow-safe.
bool within(uint64_t offset, uint64_t size, uint64_t limit) {
    return offset <= limit && size <= limit - offset;
}

Problem problem(Status status, uint64_t value = 0, uint64_t limit = 0) {
    Problem p;
    p.status = status;
    p.value = value;
    p.limit = limit;
    return p;
}

Problem at_index(Status status, uint16_t index, uint64_t value = 0, uint64_t value2 = 0) {
    Problem p = problem(status, value);
    p.index = index;
    p.value2 = value2;
    return p;
}

Elf64_Phdr read_phdr(const uint8_t* table, uint16_t i) {
    Elf64_Phdr ph;
    __builtin_memcpy(&ph, table + uint64_t{i} * sizeof ph, sizeof ph);
    return ph;
}

bool is_load(const Elf64_Phdr& ph) {
    return ph.p_type == PT_LOAD && ph.p_memsz != 0;  // an empty PT_LOAD maps nothing
}

Problem check_identity(const Elf64_Ehdr& eh) {
    if (eh.e_ident[EI_CLASS] != ELFCLASS64)
        return problem(Status::NotElf64, eh.e_ident[EI_CLASS]);
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return problem(Status::NotLittleEndian, eh.e_ident[EI_DATA]);
    if (eh.e_ident[EI_VERSION] != EV_CURRENT)
        return problem(Status::BadVersion, eh.e_ident[EI_VERSION]);
    if (eh.e_version != EV_CURRENT)
        return problem(Status::BadVersion, eh.e_version);
    if (eh.e_machine != EM_X86_64)
        return problem(Status::WrongMachine, eh.e_machine);
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return problem(Status::NotExecutable, eh.e_type);
    return {};
}

// Checks on one PT_LOAD that do not depend on where the image is placed.
Problem check_load(uint64_t file_size, uint16_t i, const Elf64_Phdr& ph) {
    if (ph.p_filesz > ph.p_memsz)
        return at_index(Status::FileSizeExceedsMemSize, i);
    // A pure-bss segment reads nothing from the file, so its offset is moot.
    if (ph.p_filesz != 0 && !within(ph.p_offset, ph.p_filesz, file_size))
        return at_index(Status::SegmentPastEof, i);
    if (ph.p_align > 1 && (ph.p_align & (ph.p_align - 1)) != 0)
        return at_index(Status::AlignNotPowerOfTwo, i, ph.p_align);
    if (ph.p_vaddr % kPageSize != ph.p_offset % kPageSize)
        return at_index(Status::Misaligned, i);
    uint64_t end;
    if (add_overflows(ph.p_vaddr, ph.p_memsz, &end))
        return at_index(Status::AddressOverflow, i, ph.p_vaddr, ph.p_memsz);
    return {};
}

Problem check_interp(uint64_t file_size, uint16_t i, const Elf64_Phdr& ph) {
    // At least one character and its NUL; Linux bounds it by PATH_MAX.
    if (ph.p_filesz < 2 || ph.p_filesz > kMaxInterpSize || !within(ph.p_offset, ph.p_filesz, file_size))
        return at_index(Status::BadInterp, i, ph.p_offset, ph.p_filesz);
    return {};
}

Problem check_tls(uint16_t i, const Elf64_Phdr& ph) {
    uint64_t end;
    if (ph.p_filesz > ph.p_memsz || (ph.p_align > 1 && (ph.p_align & (ph.p_align - 1)) != 0) ||
        add_overflows(ph.p_vaddr, ph.p_memsz, &end))
        return at_index(Status::BadTls, i);
    return {};
}

// Byte overlap only: segments sharing a page are normal (see Segment).
// Link addresses suffice: placement shifts all of them alike.
Problem check_overlap(const Image& img) {
    for (uint16_t a = 0; a < img.phnum; a++) {
        const auto pa = read_phdr(img.phdrs, a);
        if (!is_load(pa))
            continue;
        for (uint16_t b = a + 1; b < img.phnum; b++) {
            const auto pb = read_phdr(img.phdrs, b);
            if (is_load(pb) && pa.p_vaddr < pb.p_vaddr + pb.p_memsz && pb.p_vaddr < pa.p_vaddr + pa.p_memsz) {
                Problem p = at_index(Status::OverlappingSegments, a);
                p.index2 = b;
                return p;
            }
        }
    }
    return {};
}

Problem check_entry(const Image& img) {
    for (uint16_t i = 0; i < img.phnum; i++) {
        const auto ph = read_phdr(img.phdrs, i);
        if (!is_load(ph) || img.raw_entry < ph.p_vaddr || img.raw_entry - ph.p_vaddr >= ph.p_memsz)
            continue;
        if (!(ph.p_flags & PF_X))
            return at_index(Status::EntryNotExecutable, i, img.raw_entry);
        return {};
    }
    return problem(Status::EntryOutside, img.raw_entry);
}

// AT_PHDR: libc finds PT_TLS (and a PIE its dynamic section) through it, so
// it must point at bytes really loaded from the file. Without PT_PHDR, the
// table is found through the PT_LOAD holding e_phoff, if any.
Problem find_phdr(uint64_t phoff, Image* out) {
    const Image& img = *out;
    const uint64_t table_size = uint64_t{img.phnum} * img.phentsize;
    bool has_pt_phdr = false;
    Elf64_Phdr pt_phdr{};
    for (uint16_t i = 0; i < img.phnum; i++) {
        const auto ph = read_phdr(img.phdrs, i);
        if (ph.p_type == PT_PHDR) {
            pt_phdr = ph;
            has_pt_phdr = true;
        }
    }
    for (uint16_t i = 0; i < img.phnum; i++) {
        const auto ph = read_phdr(img.phdrs, i);
        if (!is_load(ph))
            continue;
        if (has_pt_phdr) {
            if (pt_phdr.p_vaddr >= ph.p_vaddr && pt_phdr.p_vaddr - ph.p_vaddr <= ph.p_filesz &&
                table_size <= ph.p_filesz - (pt_phdr.p_vaddr - ph.p_vaddr)) {
                out->phdr_loaded = true;
                out->phdr_link = pt_phdr.p_vaddr;
                return {};
            }
        } else if (phoff >= ph.p_offset && phoff - ph.p_offset <= ph.p_filesz &&
                   table_size <= ph.p_filesz - (phoff - ph.p_offset)) {
            out->phdr_loaded = true;
            out->phdr_link = ph.p_vaddr + (phoff - ph.p_offset);
            return {};
        }
    }
    if (has_pt_phdr)
        return problem(Status::PtPhdrNotLoaded, pt_phdr.p_vaddr);
    return {};
}

// One pass over the program headers: per-segment checks, in header order.
Problem scan_headers(uint64_t file_size, Image* img) {
    bool has_pt_phdr = false;
    img->raw_start = UINT64_MAX;
    img->max_align = kPageSize;
    for (uint16_t i = 0; i < img->phnum; i++) {
        const auto ph = read_phdr(img->phdrs, i);
        Problem p;
        switch (ph.p_type) {
        case PT_PHDR:
            if (has_pt_phdr)
                return problem(Status::MultiplePtPhdr);
            has_pt_phdr = true;
            break;
        case PT_INTERP:
            if (img->has_interp)
                return problem(Status::MultipleInterp);
            if (p = check_interp(file_size, i, ph); !p.ok())
                return p;
            img->has_interp = true;
            img->interp_index = i;
            img->interp_offset = ph.p_offset;
            img->interp_size = ph.p_filesz;
            break;
        case PT_GNU_STACK:
            img->has_gnu_stack = true;
            img->exec_stack = (ph.p_flags & PF_X) != 0;
            break;
        case PT_TLS:
            // The first one counts, as for libc.
            if (img->has_tls)
                break;
            if (p = check_tls(i, ph); !p.ok())
                return p;
            img->has_tls = true;
            img->tls_index = i;
            break;
        case PT_LOAD:
            if (p = check_load(file_size, i, ph); !p.ok())
                return p;
            if (ph.p_memsz == 0)
                break;
            img->load_count++;
            if (page_down(ph.p_vaddr) < img->raw_start)
                img->raw_start = page_down(ph.p_vaddr);
            if (ph.p_vaddr + ph.p_memsz > img->raw_end)
                img->raw_end = ph.p_vaddr + ph.p_memsz;
            if (ph.p_align > img->max_align)
                img->max_align = ph.p_align;
            break;
        default:
            break;
        }
    }
    if (img->load_count == 0)
        return problem(Status::NoLoadableSegments);
    return {};
}

}  // namespace

const char* message(Status status) {
    switch (status) {
    case Status::Ok: return "ok";
    case Status::NotElf: return "not an ELF file (bad magic)";
    case Status::Script: return "not an ELF file (it is a script)";
    case Status::TooShort: return "file too short for an ELF header";
    case Status::NotElf64: return "not a 64-bit ELF";
    case Status::NotLittleEndian: return "not little-endian";
    case Status::BadVersion: return "unsupported ELF version";
    case Status::WrongMachine: return "wrong architecture, not x86-64";
    case Status::NotExecutable: return "not an executable";
    case Status::BadHeaderSize: return "bad ELF header size";
    case Status::BadPhentsize: return "bad program header entry size";
    case Status::ExtendedNumbering: return "too many program headers (extended numbering)";
    case Status::NoProgramHeaders: return "no program headers";
    case Status::TooManyProgramHeaders: return "too many program headers";
    case Status::PhdrsOutOfFile: return "program headers out of bounds";
    case Status::PhdrsNotInBuffer: return "program headers not in the bytes read";
    case Status::NoEntry: return "no entry point (e_entry is 0)";
    case Status::FileSizeExceedsMemSize: return "segment file size exceeds memory size";
    case Status::SegmentPastEof: return "segment extends past end of file";
    case Status::AlignNotPowerOfTwo: return "segment alignment is not a power of two";
    case Status::Misaligned: return "segment misaligned (vaddr and offset differ modulo page size)";
    case Status::AddressOverflow: return "segment address overflow";
    case Status::NoLoadableSegments: return "no loadable segments";
    case Status::MultiplePtPhdr: return "more than one PT_PHDR";
    case Status::MultipleInterp: return "more than one PT_INTERP";
    case Status::BadInterp: return "bad PT_INTERP (size or bounds)";
    case Status::BadTls: return "bad PT_TLS";
    case Status::OverlappingSegments: return "overlapping segments";
    case Status::EntryOutside: return "entry point is outside the loaded segments";
    case Status::EntryNotExecutable: return "entry point is in a segment that is not executable";
    case Status::PtPhdrNotLoaded: return "PT_PHDR is not inside a loadable segment";
    case Status::BaseUnaligned: return "load base is not page aligned";
    case Status::RelocatedOverflow: return "segment address overflow (relocated past 2^64)";
    case Status::AboveLimit: return "segment ends above the address limit";
    case Status::InterpNotInBuffer: return "PT_INTERP path not in the bytes read";
    case Status::InterpNotTerminated: return "PT_INTERP path is empty or not NUL-terminated";
    case Status::FileMismatch: return "segment file data out of bounds (image does not match file)";
    case Status::DestinationTooSmall: return "segment does not fit in the destination";
    }
    return "unknown ELF problem";
}

Problem read_header(const uint8_t* head, size_t head_size, uint64_t file_size, Header* out) {
    if (head_size > file_size)
        head_size = file_size;
    // Magic before length, so a short text file is "not an ELF file".
    static constexpr uint8_t kMagic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
    const size_t magic_len = head_size < SELFMAG ? head_size : SELFMAG;
    if (magic_len > 0 && __builtin_memcmp(head, kMagic, magic_len) != 0) {
        if (head_size >= 2 && head[0] == '#' && head[1] == '!')
            return problem(Status::Script);
        return problem(Status::NotElf);
    }
    if (head_size < sizeof(Elf64_Ehdr))
        return problem(Status::TooShort, head_size);
    Elf64_Ehdr eh;
    __builtin_memcpy(&eh, head, sizeof eh);
    if (Problem p = check_identity(eh); !p.ok())
        return p;
    if (eh.e_ehsize != sizeof(Elf64_Ehdr))
        return problem(Status::BadHeaderSize, eh.e_ehsize, sizeof(Elf64_Ehdr));
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        return problem(Status::BadPhentsize, eh.e_phentsize, sizeof(Elf64_Phdr));
    // PN_XNUM means the real count is in section header 0; no executable
    // needs that many, so refuse rather than trust sections.
    if (eh.e_phnum == PN_XNUM)
        return problem(Status::ExtendedNumbering);
    if (eh.e_phnum == 0)
        return problem(Status::NoProgramHeaders);
    if (eh.e_phnum > kMaxProgramHeaders)
        return problem(Status::TooManyProgramHeaders, eh.e_phnum, kMaxProgramHeaders);
    const uint64_t table_size = uint64_t{eh.e_phnum} * eh.e_phentsize;
    if (!within(eh.e_phoff, table_size, file_size)) {
        Problem p = problem(Status::PhdrsOutOfFile, eh.e_phoff, file_size);
        p.value2 = table_size;
        return p;
    }
    if (!within(eh.e_phoff, table_size, head_size))
        return problem(Status::PhdrsNotInBuffer, eh.e_phoff, head_size);
    if (eh.e_entry == 0)
        return problem(Status::NoEntry, eh.e_type);
    out->kind = eh.e_type == ET_DYN ? Kind::Dynamic : Kind::Executable;
    out->entry = eh.e_entry;
    out->phoff = eh.e_phoff;
    out->phnum = eh.e_phnum;
    return {};
}

Elf64_Phdr program_header(const Image& image, uint16_t i) {
    return read_phdr(image.phdrs, i);
}

Elf64_Phdr program_header(const uint8_t* head, const Header& header, uint16_t i) {
    return read_phdr(head + header.phoff, i);
}

bool has_program_header(const uint8_t* head, const Header& header, uint32_t type) {
    for (uint16_t i = 0; i < header.phnum; i++)
        if (program_header(head, header, i).p_type == type)
            return true;
    return false;
}

Problem parse(const uint8_t* head, size_t head_size, uint64_t file_size, Image* out) {
    Header header;
    if (Problem p = read_header(head, head_size, file_size, &header); !p.ok())
        return p;
    Image img;
    img.kind = header.kind;
    img.phdrs = head + header.phoff;
    img.phnum = header.phnum;
    img.phentsize = sizeof(Elf64_Phdr);
    img.file_size = file_size;
    img.raw_entry = header.entry;
    if (Problem p = scan_headers(file_size, &img); !p.ok())
        return p;
    if (Problem p = check_overlap(img); !p.ok())
        return p;
    if (Problem p = check_entry(img); !p.ok())
        return p;
    if (Problem p = find_phdr(header.phoff, &img); !p.ok())
        return p;
    *out = img;
    return {};
}

uint64_t image_span(const Image& image) {
    const uint64_t end = page_up(image.raw_end);
    return end == UINT64_MAX ? 0 : end - image.raw_start;
}

Problem place(Image* image, uint64_t base, uint64_t limit) {
    Image& img = *image;
    // Relocation: link address v goes to start + (v - raw_start). Written that
    // way (not v + bias) so that overflow is detectable.
    uint64_t start = img.raw_start;
    if (img.kind == Kind::Dynamic) {
        if (base % kPageSize != 0)
            return problem(Status::BaseUnaligned, base);
        start = base;
    }
    img.load_bias = start - img.raw_start;  // modular: only ever added back
    img.image_start = UINT64_MAX;
    img.image_end = 0;
    for (uint16_t i = 0; i < img.phnum; i++) {
        const auto ph = read_phdr(img.phdrs, i);
        if (!is_load(ph))
            continue;
        uint64_t vaddr, end;
        if (add_overflows(start, ph.p_vaddr - img.raw_start, &vaddr) || add_overflows(vaddr, ph.p_memsz, &end))
            return at_index(Status::RelocatedOverflow, i);
        if (end > limit) {
            Problem p = at_index(Status::AboveLimit, i, end);
            p.limit = limit;
            return p;
        }
        if (page_down(vaddr) < img.image_start)
            img.image_start = page_down(vaddr);
        if (page_up(end) > img.image_end)
            img.image_end = page_up(end);
    }
    img.entry = img.raw_entry + img.load_bias;
    img.phdr_vaddr = img.phdr_loaded ? img.phdr_link + img.load_bias : 0;
    return {};
}

bool segment(const Image& image, uint16_t i, Segment* out) {
    const auto ph = read_phdr(image.phdrs, i);
    if (!is_load(ph))
        return false;
    out->index = i;
    out->vaddr = ph.p_vaddr + image.load_bias;
    out->memsz = ph.p_memsz;
    out->file_offset = ph.p_offset;
    out->filesz = ph.p_filesz;
    out->flags = ph.p_flags;
    out->align = ph.p_align;
    return true;
}

bool tls_segment(const Image& image, Segment* out) {
    if (!image.has_tls)
        return false;
    const auto ph = read_phdr(image.phdrs, image.tls_index);
    out->index = image.tls_index;
    out->vaddr = ph.p_vaddr + image.load_bias;
    out->memsz = ph.p_memsz;
    out->file_offset = ph.p_offset;
    out->filesz = ph.p_filesz;
    out->flags = ph.p_flags;
    out->align = ph.p_align;
    return true;
}

Problem check_interp_path(const uint8_t* bytes, uint64_t size) {
    // Linux requires the NUL at the very end; an empty path names nothing.
    if (size < 2 || bytes[size - 1] != 0 || bytes[0] == 0)
        return problem(Status::InterpNotTerminated);
    return {};
}

Problem interp_path(const Image& image, const uint8_t* bytes, size_t size, const char** path) {
    if (!image.has_interp)
        return problem(Status::InterpNotInBuffer);
    if (!within(image.interp_offset, image.interp_size, size))
        return problem(Status::InterpNotInBuffer, image.interp_offset, size);
    const uint8_t* at = bytes + image.interp_offset;
    if (Problem p = check_interp_path(at, image.interp_size); !p.ok()) {
        p.index = image.interp_index;
        return p;
    }
    *path = reinterpret_cast<const char*>(at);
    return {};
}

Problem check_segment_load(const Segment& s, uint64_t file_size, uint64_t dest_size, uint64_t dest_base) {
    if (s.filesz > s.memsz || (s.filesz != 0 && !within(s.file_offset, s.filesz, file_size)))
        return at_index(Status::FileMismatch, s.index, s.vaddr);
    if (s.vaddr < dest_base || !within(s.vaddr - dest_base, s.memsz, dest_size)) {
        uint64_t dest_end;
        if (add_overflows(dest_base, dest_size, &dest_end))
            dest_end = UINT64_MAX;
        Problem p = at_index(Status::DestinationTooSmall, s.index, s.vaddr, s.vaddr + s.memsz);
        p.limit = dest_end;
        return p;
    }
    return {};
}

void copy_segment(const Segment& s, const uint8_t* file, uint8_t* dest, uint64_t dest_base, BssFill fill) {
    uint8_t* out = dest + (s.vaddr - dest_base);
    if (s.filesz != 0)
        __builtin_memcpy(out, file + s.file_offset, s.filesz);
    if (s.memsz > s.filesz && fill == BssFill::Zero)
        __builtin_memset(out + s.filesz, 0, s.memsz - s.filesz);
}

Problem load_segments(const Image& image, const uint8_t* file, uint64_t file_size, uint8_t* dest,
                      uint64_t dest_size, uint64_t dest_base, BssFill fill) {
    // Validate everything first so a failure leaves the destination untouched.
    Segment s;
    for (uint16_t i = 0; i < image.phnum; i++)
        if (segment(image, i, &s))
            if (Problem p = check_segment_load(s, file_size, dest_size, dest_base); !p.ok())
                return p;
    for (uint16_t i = 0; i < image.phnum; i++)
        if (segment(image, i, &s))
            copy_segment(s, file, dest, dest_base, fill);
    return {};
}

}  // namespace lightvm::elf
