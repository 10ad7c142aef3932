// Strict ELF64 x86-64 executable parsing, for the host loader and the guest
// kernel (execve, and the PT_INTERP interpreter of a dynamic program).
//
// Freestanding: no allocation, no libc beyond compiler builtins, no
// exceptions. The file is untrusted, so every field used is checked first,
// with overflow-safe arithmetic; a failure is a Problem: a Status (with a
// static one-line message) plus the numbers a caller needs to say exactly
// what is wrong.
//
// Two steps, so that a caller can choose where an ET_DYN image goes after
// learning its size and alignment:
//   parse()  the file header and program headers: nothing depends on where
//            the image will be placed;
//   place()  the load address: bias, relocated entry, AT_PHDR, bounds.
// The Image keeps a pointer to the program header table inside the caller's
// buffer: keep that buffer alive while using the Image.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "freestanding/elf/elf_abi.hpp"

namespace lightvm::elf {

// Highest address (exclusive) an image may reach by default: the lower
// canonical half.
inline constexpr uint64_t kUserAddressLimit = 1ull << 47;
// More would be pathological; real executables have about a dozen.
inline constexpr uint16_t kMaxProgramHeaders = 128;
// Longest PT_INTERP path, including its NUL (Linux bounds it by PATH_MAX).
inline constexpr uint64_t kMaxInterpSize = 4096;

enum class Status : uint8_t {
    Ok = 0,
    // File header (read_header).
    NotElf,                 // bad magic
    Script,                 // "#!": not an ELF file but a script
    TooShort,               // value: file size
    NotElf64,               // value: EI_CLASS
    NotLittleEndian,        // value: EI_DATA
    BadVersion,             // value: the bad version
    WrongMachine,           // value: e_machine
    NotExecutable,          // value: e_type
    BadHeaderSize,          // value: e_ehsize, limit: expected
    BadPhentsize,           // value: e_phentsize, limit: expected
    ExtendedNumbering,      // e_phnum == PN_XNUM
    NoProgramHeaders,
    TooManyProgramHeaders,  // value: e_phnum, limit: kMaxProgramHeaders
    PhdrsOutOfFile,         // value: e_phoff, value2: table bytes, limit: file size
    PhdrsNotInBuffer,       // inside the file but past the caller's buffer: read more
    NoEntry,                // e_entry == 0 (value: e_type)
    // Program headers (parse).
    FileSizeExceedsMemSize,  // index
    SegmentPastEof,          // index
    AlignNotPowerOfTwo,      // index, value: p_align
    Misaligned,              // index: vaddr and offset differ modulo the page size
    AddressOverflow,         // index, value: p_vaddr, value2: p_memsz
    NoLoadableSegments,
    MultiplePtPhdr,
    MultipleInterp,
    BadInterp,               // index: PT_INTERP size 0/1, too long, or outside the file
    BadTls,                  // index: PT_TLS filesz > memsz, bad alignment or overflow
    OverlappingSegments,     // index and index2 (program header indices)
    EntryOutside,            // value: raw e_entry
    EntryNotExecutable,      // value: raw e_entry, index: its segment
    PtPhdrNotLoaded,         // value: PT_PHDR p_vaddr
    // Placement (place).
    BaseUnaligned,           // value: the base
    RelocatedOverflow,       // index
    AboveLimit,              // index, value: relocated end, limit
    // PT_INTERP path (interp_path).
    InterpNotInBuffer,       // read interp_offset/interp_size and use check_interp_path
    InterpNotTerminated,     // no NUL at the end, or empty
    // Loading (load_segments).
    FileMismatch,            // value: segment vaddr: the image does not match the file
    DestinationTooSmall,     // value/value2: segment range, limit: destination end
};

// A static one-line description, e.g. "segment extends past end of file".
const char* message(Status status);

struct Problem {
    Status status = Status::Ok;
    uint16_t index = 0;   // program header index (as `readelf -l` numbers them)
    uint16_t index2 = 0;  // the second one, for overlapping segments
    uint64_t value = 0;   // the offending value (see Status)
    uint64_t value2 = 0;
    uint64_t limit = 0;   // what it was checked against
    bool ok() const { return status == Status::Ok; }
};

enum class Kind : uint8_t {
    Executable,  // ET_EXEC: loads at its link addresses
    Dynamic,     // ET_DYN: static-PIE, PIE or an interpreter (ld.so); loads anywhere
};

struct Header {
    Kind kind = Kind::Executable;
    uint64_t entry = 0;  // e_entry, not relocated
    uint64_t phoff = 0;
    uint16_t phnum = 0;
};

// One non-empty PT_LOAD. Two segments never overlap byte-wise, but they may
// share a page (text ending and data starting in the same 4 KiB page), so
// whoever maps pages must merge the flags of every segment touching it.
struct Segment {
    uint16_t index = 0;     // program header index
    uint64_t vaddr = 0;     // relocated (load_bias applied)
    uint64_t memsz = 0;
    uint64_t file_offset = 0;
    uint64_t filesz = 0;    // <= memsz; [filesz, memsz) is zero-filled
    uint32_t flags = 0;     // PF_R | PF_W | PF_X
    uint64_t align = 0;     // p_align (0 or a power of two)
};

struct Image {
    // --- from parse(): properties of the file
    Kind kind = Kind::Executable;
    const uint8_t* phdrs = nullptr;  // the program header table, in the caller's buffer
    uint16_t phnum = 0;
    uint16_t phentsize = 0;
    uint64_t file_size = 0;
    uint64_t raw_entry = 0;   // e_entry
    uint64_t raw_start = 0;   // lowest PT_LOAD vaddr, page-aligned down
    uint64_t raw_end = 0;     // highest PT_LOAD end (exact: may be near 2^64 in a hostile file)
    uint64_t max_align = 0;   // largest PT_LOAD p_align, at least the page size
    uint16_t load_count = 0;  // non-empty PT_LOADs
    bool has_interp = false;  // PT_INTERP: a dynamically linked program
    uint16_t interp_index = 0;
    uint64_t interp_offset = 0;  // the path's bytes in the file, NUL included
    uint64_t interp_size = 0;
    bool has_gnu_stack = false;   // PT_GNU_STACK present
    bool exec_stack = false;      // it asks for an executable stack (PF_X)
    bool has_tls = false;         // PT_TLS
    uint16_t tls_index = 0;
    bool phdr_loaded = false;     // some PT_LOAD holds the program headers (PT_PHDR or e_phoff)
    uint64_t phdr_link = 0;       // their link address, if so
    // --- from place(): where it goes
    uint64_t load_bias = 0;    // added (mod 2^64) to every link address; 0 for ET_EXEC
    uint64_t entry = 0;        // relocated e_entry, inside a PF_X segment
    uint64_t phdr_vaddr = 0;   // relocated address of the program headers (AT_PHDR), 0: not loaded
    uint64_t image_start = 0;  // relocated raw_start
    uint64_t image_end = 0;    // relocated end of the highest PT_LOAD, page-aligned up
};

// The file header. `head` holds the file's first head_size bytes (the whole
// file on the host; the guest may read just the first page); file_size is
// the size of the whole file. The program header table must lie in `head`
// (PhdrsNotInBuffer says to read more).
Problem read_header(const uint8_t* head, size_t head_size, uint64_t file_size, Header* out);

// Program header i (< phnum) of a validated table; copied, as the buffer
// has no alignment guarantee.
Elf64_Phdr program_header(const Image& image, uint16_t i);
Elf64_Phdr program_header(const uint8_t* head, const Header& header, uint16_t i);

// Is there a program header of this type? (E.g. PT_INTERP, before the rest
// of the file is checked.)
bool has_program_header(const uint8_t* head, const Header& header, uint32_t type);

// read_header, then every program header: segment bounds in the file,
// alignment, overflow, byte overlap, the entry point in an executable
// segment, PT_PHDR, PT_INTERP (bounds only), PT_TLS, PT_GNU_STACK.
Problem parse(const uint8_t* head, size_t head_size, uint64_t file_size, Image* out);

// The span an ET_DYN image needs from its base: raw_end - raw_start,
// page-aligned up (0 if that overflows; place() reports it).
uint64_t image_span(const Image& image);

// Places the image: an ET_DYN image's lowest page goes to `base` (page
// aligned; align it to max_align for huge-page-aligned segments); ET_EXEC
// ignores `base`. Every segment must end at or below `limit`.
Problem place(Image* image, uint64_t base, uint64_t limit = kUserAddressLimit);

// Program header i as a relocated segment, if it is a non-empty PT_LOAD.
bool segment(const Image& image, uint16_t i, Segment* out);

// The PT_TLS template, relocated (libc finds it through AT_PHDR itself;
// this is for a kernel that wants to know).
bool tls_segment(const Image& image, Segment* out);

// Relocates a link-time address of this image.
inline uint64_t relocate(const Image& image, uint64_t link_vaddr) {
    return link_vaddr + image.load_bias;
}

// The interpreter path inside the first `size` bytes of the file (the whole
// file on the host). InterpNotInBuffer: read interp_size bytes at
// interp_offset and call check_interp_path on them.
Problem interp_path(const Image& image, const uint8_t* bytes, size_t size, const char** path);
Problem check_interp_path(const uint8_t* bytes, uint64_t size);

// Copies the PT_LOAD segments into `dest`, a view of memory starting at
// address dest_base (address a is at dest[a - dest_base]), and zeroes
// [filesz, memsz) unless `dest` is known to be zero already. Bytes outside
// the segments are left untouched. Everything is checked first: on failure
// nothing has been written.
enum class BssFill : uint8_t { Zero, AlreadyZero };
Problem load_segments(const Image& image, const uint8_t* file, uint64_t file_size, uint8_t* dest,
                      uint64_t dest_size, uint64_t dest_base, BssFill fill = BssFill::Zero);

// The two halves of load_segments, for a caller that keeps its own list of
// segments: check every one first, then copy.
Problem check_segment_load(const Segment& s, uint64_t file_size, uint64_t dest_size, uint64_t dest_base);
void copy_segment(const Segment& s, const uint8_t* file, uint8_t* dest, uint64_t dest_base, BssFill fill);

}  // namespace lightvm::elf
