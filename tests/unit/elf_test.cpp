// Tests for the static ELF parser/loader. Images are assembled in memory so
// every rejection path can be hit exactly; real binaries are checked when
// present on the host.
#include "loader/elf.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "elf_builder.hpp"
#include "lightvm/abi.h"

namespace lightvm::loader {
namespace {

constexpr uint64_t kPieBase = abi::kPieBase;

using test::ElfBuilder;
using test::load;
using test::minimal_exec;
using test::minimal_pie;
using test::other;

::testing::AssertionResult rejected_with(const std::vector<uint8_t>& file, const std::string& text,
                                         uint64_t pie_base = kPieBase) {
    auto r = parse_elf(file, pie_base);
    if (r)
        return ::testing::AssertionFailure() << "accepted, expected \"" << text << "\"";
    if (r.error().kind != ErrorKind::BadExecutable)
        return ::testing::AssertionFailure() << "wrong kind for: " << r.error().to_string();
    if (r.error().where != "elf")
        return ::testing::AssertionFailure() << "wrong where: " << r.error().to_string();
    if (r.error().message.find(text) == std::string::npos)
        return ::testing::AssertionFailure()
               << "message \"" << r.error().message << "\" lacks \"" << text << "\"";
    return ::testing::AssertionSuccess();
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

bool exists(const std::string& path) {
    return std::ifstream(path).good();
}

// ---------------------------------------------------------------- acceptance

TEST(Elf, MinimalExecutable) {
    auto file = minimal_exec().build();
    auto r = parse_elf(file, kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->kind, ElfKind::Executable);
    EXPECT_EQ(r->load_bias, 0u);
    EXPECT_EQ(r->entry, 0x400100u);
    EXPECT_EQ(r->phdr_vaddr, 0x400040u);  // from the PT_LOAD holding e_phoff
    EXPECT_EQ(r->phnum, 3);
    EXPECT_EQ(r->phentsize, sizeof(Elf64_Phdr));
    EXPECT_EQ(r->image_start, 0x400000u);
    EXPECT_EQ(r->image_end, 0x406000u);
    ASSERT_EQ(r->segments.size(), 2u);
    EXPECT_EQ(r->segments[0].vaddr, 0x400000u);
    EXPECT_EQ(r->segments[0].memsz, 0x200u);
    EXPECT_EQ(r->segments[0].file_offset, 0u);
    EXPECT_EQ(r->segments[0].filesz, 0x200u);
    EXPECT_EQ(r->segments[0].flags, uint32_t{PF_R | PF_X});
    EXPECT_EQ(r->segments[1].vaddr, 0x402010u);
    EXPECT_EQ(r->segments[1].memsz, 0x3000u);
    EXPECT_EQ(r->segments[1].file_offset, 0x1010u);
    EXPECT_EQ(r->segments[1].filesz, 0x20u);
    EXPECT_EQ(r->segments[1].flags, uint32_t{PF_R | PF_W});
}

TEST(Elf, PieBaseIgnoredForExecutable) {
    auto r = parse_elf(minimal_exec().build(), 0x12345);  // unaligned, but unused
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->entry, 0x400100u);
}

TEST(Elf, ProgramHeadersNotMapped) {
    auto b = minimal_exec();
    b.eh.e_phoff = 0x300;  // in the file, but in no segment
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->phdr_vaddr, 0u);
}

TEST(Elf, StaticPieRelocated) {
    auto r = parse_elf(minimal_pie().build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->kind, ElfKind::StaticPie);
    EXPECT_EQ(r->load_bias, kPieBase);
    EXPECT_EQ(r->entry, kPieBase + 0x100);
    EXPECT_EQ(r->phdr_vaddr, kPieBase + 0x40);  // from PT_PHDR
    EXPECT_EQ(r->phnum, 4);
    EXPECT_EQ(r->image_start, kPieBase);
    EXPECT_EQ(r->image_end, kPieBase + 0x6000);
    ASSERT_EQ(r->segments.size(), 2u);
    EXPECT_EQ(r->segments[0].vaddr, kPieBase);
    EXPECT_EQ(r->segments[1].vaddr, kPieBase + 0x2010);
    EXPECT_EQ(r->segments[1].file_offset, 0x1010u);  // file side is never relocated
}

TEST(Elf, StaticPieWithoutPtPhdr) {
    auto b = minimal_pie();
    b.ph[0] = other(PT_NOTE, 0x100, 0x100, 0x10);
    auto r = parse_elf(b.build(), 0x10000000);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->phdr_vaddr, 0x10000040u);
    EXPECT_EQ(r->entry, 0x10000100u);
}

TEST(Elf, StaticPieLinkedAboveZero) {
    // Lowest page 0x7000 (not the lowest byte) lands on pie_base.
    auto b = minimal_pie();
    b.eh.e_entry = 0x7100;
    b.ph[0].p_vaddr = 0x7040;
    b.ph[1].p_vaddr = 0x7000;
    b.ph[2].p_vaddr = 0x9010;
    auto r = parse_elf(b.build(), 0x800000);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->load_bias, 0x800000u - 0x7000u);
    EXPECT_EQ(r->entry, 0x800100u);
    EXPECT_EQ(r->phdr_vaddr, 0x800040u);
    EXPECT_EQ(r->segments[1].vaddr, 0x802010u);
    EXPECT_EQ(r->image_start, 0x800000u);
}

TEST(Elf, StaticPieHigherThanBase) {
    // Raw addresses above pie_base: the bias is "negative" (modular).
    auto b = minimal_pie();
    b.eh.e_entry = 0x40000100;
    b.ph[0].p_vaddr = 0x40000040;
    b.ph[1].p_vaddr = 0x40000000;
    b.ph[2].p_vaddr = 0x40002010;
    auto r = parse_elf(b.build(), 0x400000);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->entry, 0x400100u);
    EXPECT_EQ(r->segments[1].vaddr, 0x402010u);
}

TEST(Elf, SegmentsSharingAPageAccepted) {
    auto b = minimal_exec();
    b.ph[1] = load(0x210, 0x400210, 0x20, 0x100, PF_R | PF_W);  // same page as text, no byte overlap
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->image_end, 0x401000u);
}

TEST(Elf, AdjacentSegmentsAccepted) {
    auto b = minimal_exec();
    b.ph[1] = load(0x200, 0x400200, 0x20, 0x100, PF_R | PF_W);  // starts exactly at text's end
    EXPECT_TRUE(parse_elf(b.build(), kPieBase));
}

TEST(Elf, AlignmentZeroAndOneAccepted) {
    auto b = minimal_exec();
    b.ph[0].p_align = 0;
    b.ph[1].p_align = 1;
    EXPECT_TRUE(parse_elf(b.build(), kPieBase));
    b.ph[1].p_align = 0x200000;
    EXPECT_TRUE(parse_elf(b.build(), kPieBase));
}

TEST(Elf, PureBssSegmentAccepted) {
    auto b = minimal_exec();
    b.ph.push_back(load(0x9000, 0x600000, 0, 0x1000, PF_R | PF_W));  // offset past EOF, reads nothing
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->segments.size(), 3u);
    EXPECT_EQ(r->image_end, 0x601000u);
    std::vector<uint8_t> mem(r->image_end - r->image_start, 0xAA);
    ASSERT_TRUE(load_segments(*r, b.build(), mem, r->image_start));
    EXPECT_EQ(mem[0x200000], 0);
    EXPECT_EQ(mem[0x200fff], 0);
}

TEST(Elf, EmptyLoadSegmentIgnored) {
    auto b = minimal_exec();
    b.ph.push_back(load(0, 0x900000, 0, 0, PF_R));
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->segments.size(), 2u);
    EXPECT_EQ(r->image_end, 0x406000u);
}

TEST(Elf, SegmentEndingAtUserLimitAccepted) {
    auto b = minimal_exec();
    b.ph[1] = load(0x1010, kUserAddressLimit - 0x3ff0, 0x20, 0x3ff0, PF_R | PF_W);
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->image_end, kUserAddressLimit);
}

TEST(Elf, MaxProgramHeadersAccepted) {
    auto b = minimal_exec();
    b.size = 0x2000;
    b.blobs.clear();
    b.eh.e_phoff = 0x40;  // 128 * 56 = 0x1c00 bytes: data segment moves out of the way
    b.ph[1] = load(0x1c40, 0x402c40, 0x20, 0x100, PF_R | PF_W);
    b.ph[0].p_filesz = b.ph[0].p_memsz = 0x1c40;
    while (b.ph.size() < kMaxProgramHeaders)
        b.ph.push_back(other(PT_NULL));
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->phnum, kMaxProgramHeaders);
}

// ---------------------------------------------------------------- file header

TEST(ElfReject, BadMagic) {
    auto file = minimal_exec().build();
    file[3] = 'G';
    EXPECT_TRUE(rejected_with(file, "not an ELF file (bad magic)"));
    std::string text = "hello, world\n";
    EXPECT_TRUE(rejected_with({text.begin(), text.end()}, "not an ELF file (bad magic)"));
    std::string script = "#!/bin/sh\necho hi\n";
    EXPECT_TRUE(rejected_with({script.begin(), script.end()}, "it is a script"));
    EXPECT_TRUE(rejected_with({'M', 'Z'}, "bad magic"));
}

TEST(ElfReject, TooShort) {
    EXPECT_TRUE(rejected_with({}, "file too short for an ELF header (0 bytes)"));
    EXPECT_TRUE(rejected_with({0x7f, 'E', 'L'}, "file too short for an ELF header"));
    auto file = minimal_exec().build();
    file.resize(sizeof(Elf64_Ehdr) - 1);
    EXPECT_TRUE(rejected_with(file, "file too short for an ELF header (63 bytes)"));
}

TEST(ElfReject, Not64Bit) {
    auto b = minimal_exec();
    b.eh.e_ident[EI_CLASS] = ELFCLASS32;
    EXPECT_TRUE(rejected_with(b.build(), "not a 64-bit ELF (it is 32-bit)"));
    b.eh.e_ident[EI_CLASS] = ELFCLASSNONE;
    EXPECT_TRUE(rejected_with(b.build(), "not a 64-bit ELF (class 0)"));
}

TEST(ElfReject, NotLittleEndian) {
    auto b = minimal_exec();
    b.eh.e_ident[EI_DATA] = ELFDATA2MSB;
    EXPECT_TRUE(rejected_with(b.build(), "not little-endian (it is big-endian)"));
    b.eh.e_ident[EI_DATA] = 7;
    EXPECT_TRUE(rejected_with(b.build(), "not little-endian"));
}

TEST(ElfReject, BadVersion) {
    auto b = minimal_exec();
    b.eh.e_ident[EI_VERSION] = EV_NONE;
    EXPECT_TRUE(rejected_with(b.build(), "unsupported ELF version 0"));
    b = minimal_exec();
    b.eh.e_version = 2;
    EXPECT_TRUE(rejected_with(b.build(), "unsupported ELF version 2"));
}

TEST(ElfReject, WrongMachine) {
    auto b = minimal_exec();
    b.eh.e_machine = EM_AARCH64;
    EXPECT_TRUE(rejected_with(b.build(),
                              "wrong architecture: machine 183 (aarch64), lightvm runs x86-64"));
    b.eh.e_machine = EM_386;
    EXPECT_TRUE(rejected_with(b.build(), "machine 3 (i386)"));
    b.eh.e_machine = EM_RISCV;
    EXPECT_TRUE(rejected_with(b.build(), "machine 243 (riscv)"));
    b.eh.e_machine = EM_ARM;
    EXPECT_TRUE(rejected_with(b.build(), "machine 40 (arm)"));
    b.eh.e_machine = 0x1234;
    EXPECT_TRUE(rejected_with(b.build(), "wrong architecture: machine 4660, lightvm runs x86-64"));
}

TEST(ElfReject, NotAnExecutable) {
    auto b = minimal_exec();
    b.eh.e_type = ET_REL;
    EXPECT_TRUE(rejected_with(b.build(), "not an executable (type ET_REL)"));
    b.eh.e_type = ET_CORE;
    EXPECT_TRUE(rejected_with(b.build(), "not an executable (type ET_CORE)"));
    b.eh.e_type = ET_NONE;
    EXPECT_TRUE(rejected_with(b.build(), "not an executable (type ET_NONE)"));
    b.eh.e_type = 0xfe00;
    EXPECT_TRUE(rejected_with(b.build(), "not an executable (type 0xfe00)"));
}

TEST(ElfReject, BadHeaderSize) {
    auto b = minimal_exec();
    b.eh.e_ehsize = 52;
    EXPECT_TRUE(rejected_with(b.build(), "bad ELF header size 52 (expected 64)"));
}

TEST(ElfReject, BadProgramHeaderEntrySize) {
    auto b = minimal_exec();
    b.eh.e_phentsize = 32;
    EXPECT_TRUE(rejected_with(b.build(), "bad program header entry size 32 (expected 56)"));
    b.eh.e_phentsize = 64;
    EXPECT_TRUE(rejected_with(b.build(), "bad program header entry size 64"));
}

TEST(ElfReject, ProgramHeaderCount) {
    auto b = minimal_exec();
    b.auto_phnum = false;
    b.eh.e_phnum = 0;
    EXPECT_TRUE(rejected_with(b.build(), "no program headers"));
    b.eh.e_phnum = PN_XNUM;
    EXPECT_TRUE(rejected_with(b.build(), "too many program headers (extended numbering)"));
    b.eh.e_phnum = kMaxProgramHeaders + 1;
    b.size = 0x4000;
    EXPECT_TRUE(rejected_with(b.build(), "too many program headers (129, limit 128)"));
}

TEST(ElfReject, ProgramHeadersOutOfBounds) {
    auto b = minimal_exec();
    b.eh.e_phoff = b.size - 10;
    EXPECT_TRUE(rejected_with(b.build(), "program headers out of bounds"));
    b.eh.e_phoff = b.size + 0x1000;
    EXPECT_TRUE(rejected_with(b.build(), "program headers out of bounds"));
    b.eh.e_phoff = UINT64_MAX - 8;  // offset + size would wrap
    EXPECT_TRUE(rejected_with(b.build(), "program headers out of bounds"));
    b.eh.e_phoff = b.size - 3 * sizeof(Elf64_Phdr) + 1;  // last header one byte short
    EXPECT_TRUE(rejected_with(b.build(), "program headers out of bounds"));
}

TEST(ElfReject, NoEntryPoint) {
    auto b = minimal_exec();
    b.eh.e_entry = 0;
    EXPECT_TRUE(rejected_with(b.build(), "no entry point (e_entry is 0)"));
    b = minimal_pie();
    b.eh.e_entry = 0;
    EXPECT_TRUE(rejected_with(b.build(), "a shared library?"));
}

// ---------------------------------------------------------------- program headers

TEST(ElfAccept, InterpreterIsNamedForTheGuestKernel) {
    // Dynamically linked programs are loaded by the guest kernel, which
    // finds their interpreter in the guest's file system: the host only
    // checks and names it.
    const std::string ld = "/lib64/ld-linux-x86-64.so.2";
    auto b = minimal_exec();
    b.ph.push_back(other(PT_INTERP, 0x180, 0x400180, ld.size() + 1));
    std::vector<uint8_t> path(ld.begin(), ld.end());
    path.push_back(0);
    b.blobs.push_back({0x180, path});
    auto r = parse_elf(b.build(), kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->interp, ld);

    // Not NUL-terminated inside its segment: refused, naming the problem.
    b = minimal_exec();
    b.ph.push_back(other(PT_INTERP, 0x180, 0x400180, 4));
    b.blobs.push_back({0x180, {'/', 'l', 'i', 'b'}});
    EXPECT_FALSE(parse_elf(b.build(), kPieBase));

    // A static program names none.
    auto s = parse_elf(minimal_exec().build(), kPieBase);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->interp, "");
}

TEST(ElfReject, FileSizeExceedsMemorySize) {
    auto b = minimal_exec();
    b.ph[1].p_filesz = 0x3001;
    EXPECT_TRUE(rejected_with(b.build(), "segment 1: file size exceeds memory size"));
}

TEST(ElfReject, PastEndOfFile) {
    auto b = minimal_exec();
    b.ph[1].p_filesz = 0x21;  // file ends at 0x1030
    EXPECT_TRUE(rejected_with(b.build(), "segment 1: extends past end of file"));
    b = minimal_exec();
    b.ph[1].p_offset = UINT64_MAX - 0xf;  // offset + filesz wraps around
    EXPECT_TRUE(rejected_with(b.build(), "segment 1: extends past end of file"));
    b = minimal_exec();
    b.ph[0].p_offset = 0x2000;
    EXPECT_TRUE(rejected_with(b.build(), "segment 0: extends past end of file"));
}

TEST(ElfReject, AlignmentNotPowerOfTwo) {
    auto b = minimal_exec();
    b.ph[0].p_align = 0x3000;
    EXPECT_TRUE(rejected_with(b.build(), "segment 0: alignment 0x3000 is not a power of two"));
}

TEST(ElfReject, Misaligned) {
    auto b = minimal_exec();
    b.ph[1].p_vaddr = 0x402020;
    EXPECT_TRUE(rejected_with(
        b.build(), "segment 1: misaligned (vaddr and offset differ modulo page size)"));
    b = minimal_exec();
    b.ph[0].p_vaddr = 0x400800;
    b.eh.e_entry = 0x400900;
    EXPECT_TRUE(rejected_with(b.build(), "segment 0: misaligned"));
}

TEST(ElfReject, AddressOverflow) {
    auto b = minimal_exec();
    b.ph[1].p_vaddr = 0xfffffffffffff010;
    EXPECT_TRUE(rejected_with(b.build(), "segment address overflow: segment 1"));
}

TEST(ElfReject, AboveUserAddressLimit) {
    auto b = minimal_exec();
    b.ph[1].p_vaddr = kUserAddressLimit - 0x2ff0;  // ends 0x10 past the limit
    EXPECT_TRUE(rejected_with(b.build(),
                              "segment 1: ends at 0x800000000010, above the user address limit "
                              "0x800000000000"));
    b = minimal_exec();
    b.ph[1].p_vaddr = 0x7ffffffff0000010;
    EXPECT_TRUE(rejected_with(b.build(), "above the user address limit"));
}

TEST(ElfReject, StaticPieRelocatedOutOfRange) {
    auto file = minimal_pie().build();
    EXPECT_TRUE(rejected_with(file, "segment 2: ends at", kUserAddressLimit - 0x1000));
    auto b = minimal_pie();
    b.ph[1].p_memsz = 0x2000;  // pie_base + 0x2000 wraps
    EXPECT_TRUE(rejected_with(b.build(), "segment address overflow: segment 1", 0xfffffffffffff000));
}

TEST(ElfReject, UnalignedPieBase) {
    auto r = parse_elf(minimal_pie().build(), kPieBase + 0x10);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_NE(r.error().message.find("pie base 0x400010 is not page aligned"), std::string::npos)
        << r.error().message;
}

TEST(ElfReject, OverlappingSegments) {
    auto b = minimal_exec();
    b.ph[1] = load(0x100, 0x400100, 0x20, 0x100, PF_R | PF_W);  // inside text
    EXPECT_TRUE(rejected_with(b.build(), "overlapping segments 0 and 1"));
    b = minimal_exec();
    b.ph[1] = load(0x1ff, 0x4001ff, 0x20, 0x100, PF_R | PF_W);  // one byte of overlap
    EXPECT_TRUE(rejected_with(b.build(), "overlapping segments 0 and 1"));
    // Out of order, and containing the other one entirely.
    b = minimal_exec();
    b.ph.insert(b.ph.begin(), load(0, 0x3ff000, 0, 0x100000, PF_R));
    EXPECT_TRUE(rejected_with(b.build(), "overlapping segments 0 and 1"));
    // Indices are program header indices, not PT_LOAD indices.
    b = minimal_exec();
    b.ph.insert(b.ph.begin(), other(PT_NOTE, 0x100, 0x400100, 0x10));
    b.ph.push_back(load(0x1020, 0x402020, 0, 0x10, PF_R));
    EXPECT_TRUE(rejected_with(b.build(), "overlapping segments 2 and 4"));
}

TEST(ElfReject, NoLoadableSegments) {
    auto b = minimal_exec();
    b.ph = {other(PT_NOTE, 0x100, 0x400100, 0x10), other(PT_GNU_STACK)};
    EXPECT_TRUE(rejected_with(b.build(), "no loadable segments"));
    b.ph.push_back(load(0, 0x400000, 0, 0, PF_R | PF_X));  // empty PT_LOAD loads nothing
    EXPECT_TRUE(rejected_with(b.build(), "no loadable segments"));
}

TEST(ElfReject, EntryOutsideSegments) {
    auto b = minimal_exec();
    b.eh.e_entry = 0x500000;
    EXPECT_TRUE(rejected_with(b.build(), "entry point 0x500000 is outside the loaded segments"));
    b.eh.e_entry = 0x400200;  // one past the end of text
    EXPECT_TRUE(rejected_with(b.build(), "entry point 0x400200 is outside the loaded segments"));
    b.eh.e_entry = 0x3fffff;
    EXPECT_TRUE(rejected_with(b.build(), "outside the loaded segments"));
    b = minimal_pie();
    b.eh.e_entry = 0x100000;
    EXPECT_TRUE(rejected_with(b.build(), "entry point 0x100000 is outside the loaded segments"));
}

TEST(ElfReject, EntryNotExecutable) {
    auto b = minimal_exec();
    b.eh.e_entry = 0x402010;
    EXPECT_TRUE(
        rejected_with(b.build(), "entry point 0x402010 is in segment 1, which is not executable"));
}

TEST(ElfReject, BadPtPhdr) {
    auto b = minimal_pie();
    b.ph.push_back(b.ph[0]);
    EXPECT_TRUE(rejected_with(b.build(), "more than one PT_PHDR"));
    b = minimal_pie();
    b.ph[0].p_vaddr = 0x3000;  // in bss, not loaded from the file
    EXPECT_TRUE(rejected_with(b.build(), "PT_PHDR (vaddr 0x3000) is not inside a loadable segment"));
    b = minimal_pie();
    b.ph[0].p_vaddr = 0x1f0;  // straddles the end of the text segment's file bytes
    EXPECT_TRUE(rejected_with(b.build(), "PT_PHDR (vaddr 0x1f0)"));
}

// ---------------------------------------------------------------- robustness

TEST(ElfReject, EveryTruncationRejected) {
    // The data segment ends exactly at EOF, so every shorter prefix cuts
    // either the headers or segment data.
    const auto file = minimal_exec().build();
    ASSERT_TRUE(parse_elf(file, kPieBase));
    for (size_t len = 0; len < file.size(); len++) {
        std::vector<uint8_t> prefix(file.begin(), file.begin() + len);  // exact-size heap copy for ASan
        auto r = parse_elf(prefix, kPieBase);
        ASSERT_FALSE(r) << "prefix of " << len << " bytes accepted";
        EXPECT_EQ(r.error().kind, ErrorKind::BadExecutable);
    }
}

TEST(ElfReject, RandomHeaderCorruptionIsHandled) {
    // Flip bytes in the headers; whatever parses must satisfy the documented invariants.
    const auto good = minimal_exec().build();
    const size_t header_bytes = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
    std::mt19937_64 rng(12345);
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        auto file = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; f++)
            file[rng() % header_bytes] = static_cast<uint8_t>(rng());
        auto r = parse_elf(file, kPieBase);
        if (!r) {
            ASSERT_FALSE(r.error().message.empty());
            continue;
        }
        accepted++;
        const auto& img = *r;
        ASSERT_FALSE(img.segments.empty());
        ASSERT_LE(img.image_end, kUserAddressLimit);
        ASSERT_LT(img.image_start, img.image_end);
        bool entry_ok = false;
        for (const auto& s : img.segments) {
            ASSERT_LE(s.filesz, s.memsz);
            ASSERT_TRUE(s.filesz == 0 || s.file_offset + s.filesz <= file.size());
            ASSERT_GE(s.vaddr, img.image_start);
            ASSERT_LE(s.vaddr + s.memsz, img.image_end);
            entry_ok |= img.entry >= s.vaddr && img.entry < s.vaddr + s.memsz && (s.flags & PF_X);
        }
        ASSERT_TRUE(entry_ok);
        const uint64_t span = img.image_end - img.image_start;
        if (span <= (16u << 20)) {
            std::vector<uint8_t> mem(span);
            ASSERT_TRUE(load_segments(img, file, mem, img.image_start));
        }
    }
    EXPECT_GT(accepted, 0);  // the mutations must not be so wild that nothing survives
}

// ---------------------------------------------------------------- load_segments

TEST(ElfLoad, CopiesAndZeroes) {
    const auto file = minimal_exec().build();
    auto img = parse_elf(file, kPieBase);
    ASSERT_TRUE(img) << img.error().to_string();
    std::vector<uint8_t> mem(img->image_end - img->image_start, 0xAA);
    auto r = load_segments(*img, file, mem, img->image_start);
    ASSERT_TRUE(r) << r.error().to_string();
    // Text: exact file bytes.
    for (size_t i = 0; i < 0x200; i++)
        ASSERT_EQ(mem[i], file[i]) << "text byte " << i;
    // Gap between the segments: untouched.
    for (size_t i = 0x200; i < 0x2010; i++)
        ASSERT_EQ(mem[i], 0xAA) << "gap byte " << i;
    // Data: file bytes, then zeroed bss.
    for (size_t i = 0; i < 0x20; i++)
        ASSERT_EQ(mem[0x2010 + i], file[0x1010 + i]) << "data byte " << i;
    for (size_t i = 0x20; i < 0x3000; i++)
        ASSERT_EQ(mem[0x2010 + i], 0) << "bss byte " << i;
    // Past the last segment: untouched.
    for (size_t i = 0x5010; i < mem.size(); i++)
        ASSERT_EQ(mem[i], 0xAA) << "tail byte " << i;
}

TEST(ElfLoad, StaticPieAtItsBase) {
    const auto file = minimal_pie().build();
    auto img = parse_elf(file, 0x200000);
    ASSERT_TRUE(img) << img.error().to_string();
    // Destination is a larger window of "guest memory" starting below the image.
    std::vector<uint8_t> mem(0x400000, 0xAA);
    ASSERT_TRUE(load_segments(*img, file, mem, 0x100000));
    EXPECT_EQ(mem[0x100000 + 0x100], file[0x100]);
    EXPECT_EQ(mem[0x100000 + 0x2010], file[0x1010]);
    EXPECT_EQ(mem[0x100000 + 0x2030], 0);
    EXPECT_EQ(mem[0x100000 - 1], 0xAA);
}

TEST(ElfLoad, ExactFitAccepted) {
    const auto file = minimal_exec().build();
    auto img = parse_elf(file, kPieBase);
    ASSERT_TRUE(img);
    std::vector<uint8_t> mem(0x5010);  // ends exactly at the end of bss
    EXPECT_TRUE(load_segments(*img, file, mem, 0x400000));
}

TEST(ElfLoad, DestinationTooSmall) {
    const auto file = minimal_exec().build();
    auto img = parse_elf(file, kPieBase);
    ASSERT_TRUE(img);
    std::vector<uint8_t> mem(0x500f, 0xAA);  // one byte short of the bss end
    auto r = load_segments(*img, file, mem, 0x400000);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadExecutable);
    EXPECT_NE(r.error().message.find("does not fit in guest memory"), std::string::npos)
        << r.error().message;
    // Validation happens before any copy: nothing was written.
    for (uint8_t byte : mem)
        ASSERT_EQ(byte, 0xAA);
}

TEST(ElfLoad, DestinationStartsTooHigh) {
    const auto file = minimal_exec().build();
    auto img = parse_elf(file, kPieBase);
    ASSERT_TRUE(img);
    std::vector<uint8_t> mem(0x10000);
    EXPECT_FALSE(load_segments(*img, file, mem, 0x400001));
    EXPECT_FALSE(load_segments(*img, file, mem, UINT64_MAX - 0x100));  // base + size wraps
    EXPECT_FALSE(load_segments(*img, file, {}, 0x400000));
}

TEST(ElfLoad, ImageDoesNotMatchFile) {
    const auto file = minimal_exec().build();
    auto img = parse_elf(file, kPieBase);
    ASSERT_TRUE(img);
    std::vector<uint8_t> mem(0x10000);
    std::vector<uint8_t> shorter(file.begin(), file.end() - 1);
    auto r = load_segments(*img, shorter, mem, 0x400000);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("file data out of bounds"), std::string::npos)
        << r.error().message;
}

// ---------------------------------------------------------------- real binaries

// Static binaries must parse, load, and reproduce their file bytes.
void check_real_static(const std::string& path) {
    SCOPED_TRACE(path);
    const auto file = read_file(path);
    ASSERT_FALSE(file.empty());
    auto r = parse_elf(file, kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    const auto& img = *r;
    bool entry_in_text = false;
    for (const auto& s : img.segments)
        entry_in_text |= img.entry >= s.vaddr && img.entry < s.vaddr + s.memsz && (s.flags & PF_X);
    EXPECT_TRUE(entry_in_text);
    EXPECT_NE(img.phdr_vaddr, 0u) << "libc needs AT_PHDR to find PT_TLS";
    EXPECT_GE(img.image_start, abi::kAppMin);

    std::vector<uint8_t> mem(img.image_end - img.image_start, 0xAA);
    ASSERT_TRUE(load_segments(img, file, mem, img.image_start));
    for (const auto& s : img.segments) {
        const uint8_t* at = mem.data() + (s.vaddr - img.image_start);
        EXPECT_EQ(std::memcmp(at, file.data() + s.file_offset, s.filesz), 0);
        for (uint64_t i = s.filesz; i < s.memsz; i++)
            ASSERT_EQ(at[i], 0);
    }
    // The program headers as the guest will see them at AT_PHDR.
    Elf64_Ehdr eh;
    std::memcpy(&eh, file.data(), sizeof eh);
    EXPECT_EQ(std::memcmp(mem.data() + (img.phdr_vaddr - img.image_start), file.data() + eh.e_phoff,
                          uint64_t{img.phnum} * img.phentsize),
              0);
}

TEST(ElfReal, Busybox) {
    const std::string path = "/usr/bin/busybox";
    if (!exists(path))
        GTEST_SKIP() << path << " not installed";
    const auto file = read_file(path);
    Elf64_Ehdr eh{};
    ASSERT_GE(file.size(), sizeof eh);
    std::memcpy(&eh, file.data(), sizeof eh);
    if (eh.e_type != ET_EXEC)
        GTEST_SKIP() << path << " is not a static ET_EXEC build here";
    auto r = parse_elf(file, kPieBase);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->kind, ElfKind::Executable);
    EXPECT_EQ(r->load_bias, 0u);
    EXPECT_EQ(r->entry, eh.e_entry);
    check_real_static(path);
}

// Extra static binaries (gcc -static, -static-pie, musl-gcc -static, ...) can
// be checked by listing them in LIGHTVM_TEST_STATIC_ELFS, colon separated.
TEST(ElfReal, ExtraStaticBinaries) {
    const char* list = std::getenv("LIGHTVM_TEST_STATIC_ELFS");
    if (!list || !*list)
        GTEST_SKIP() << "LIGHTVM_TEST_STATIC_ELFS not set";
    std::string paths = list;
    size_t start = 0;
    while (start <= paths.size()) {
        size_t end = paths.find(':', start);
        if (end == std::string::npos)
            end = paths.size();
        if (end > start)
            check_real_static(paths.substr(start, end - start));
        start = end + 1;
    }
}

TEST(ElfReal, DynamicBinaryNamesItsInterpreter) {
    // Any dynamically linked system binary will do; make sure it really has PT_INTERP.
    for (const char* path : {"/bin/ls", "/usr/bin/ls", "/bin/cat", "/usr/bin/env"}) {
        const auto file = read_file(path);
        if (file.size() < sizeof(Elf64_Ehdr))
            continue;
        Elf64_Ehdr eh;
        std::memcpy(&eh, file.data(), sizeof eh);
        if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_machine != EM_X86_64 ||
            eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > file.size() ||
            uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr) > file.size() - eh.e_phoff)
            continue;
        bool has_interp = false;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
            has_interp |= ph.p_type == PT_INTERP;
        }
        if (!has_interp)
            continue;
        auto r = parse_elf(file, kPieBase);
        ASSERT_TRUE(r) << path << ": " << r.error().to_string();
        EXPECT_EQ(r->interp, "/lib64/ld-linux-x86-64.so.2") << path;
        return;
    }
    GTEST_SKIP() << "no dynamically linked x86-64 binary found";
}

}  // namespace
}  // namespace lightvm::loader
