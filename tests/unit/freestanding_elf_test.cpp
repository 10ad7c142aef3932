// Tests of the freestanding ELF parser's own API (freestanding/elf), as the
// guest kernel's execve will use it: statuses and their numbers, partial
// buffers, PT_INTERP, ET_DYN placement at any base. The host wrapper's
// messages are tested in elf_test.cpp.
#include "freestanding/elf/elf.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "elf_builder.hpp"

namespace lightvm::elf {
namespace {

using test::ElfBuilder;
using test::load;
using test::minimal_exec;
using test::minimal_pie;
using test::other;

constexpr char kLdSo[] = "/lib64/ld-linux-x86-64.so.2";

Problem parse_all(const std::vector<uint8_t>& file, Image* img) {
    return parse(file.data(), file.size(), file.size(), img);
}

Status parse_status(const std::vector<uint8_t>& file) {
    Image img;
    return parse_all(file, &img).status;
}

// A dynamically linked PIE: minimal_pie plus PT_INTERP naming ld.so, whose
// path sits in the text segment's file bytes at 0x180.
ElfBuilder dynamic_pie() {
    ElfBuilder b = minimal_pie();
    b.ph.insert(b.ph.begin() + 1, other(PT_INTERP, 0x180, 0x180, sizeof kLdSo));
    b.ph[0].p_filesz = b.ph[0].p_memsz = 5 * sizeof(Elf64_Phdr);
    b.blobs.push_back({0x180, std::vector<uint8_t>(kLdSo, kLdSo + sizeof kLdSo)});
    return b;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// ---------------------------------------------------------------- file header

TEST(FreestandingElf, HeaderOfAStaticExecutable) {
    const auto file = minimal_exec().build();
    Header h;
    ASSERT_TRUE(read_header(file.data(), file.size(), file.size(), &h).ok());
    EXPECT_EQ(h.kind, Kind::Executable);
    EXPECT_EQ(h.entry, 0x400100u);
    EXPECT_EQ(h.phoff, sizeof(Elf64_Ehdr));
    EXPECT_EQ(h.phnum, 3);
    EXPECT_TRUE(has_program_header(file.data(), h, PT_GNU_STACK));
    EXPECT_FALSE(has_program_header(file.data(), h, PT_INTERP));
    EXPECT_EQ(program_header(file.data(), h, 1).p_vaddr, 0x402010u);
}

TEST(FreestandingElf, EveryTruncatedHeaderRejected) {
    // Each prefix shorter than header + program headers fails with the
    // status that names the missing part, and never reads past the prefix.
    const auto good = minimal_exec().build();
    const size_t headers = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
    for (size_t len = 0; len < headers; len++) {
        std::vector<uint8_t> prefix(good.begin(), good.begin() + len);  // exact size, for ASan
        Header h;
        const Problem p = read_header(prefix.data(), prefix.size(), prefix.size(), &h);
        if (len < sizeof(Elf64_Ehdr)) {
            ASSERT_EQ(p.status, Status::TooShort) << len;
            ASSERT_EQ(p.value, len);
        } else {
            ASSERT_EQ(p.status, Status::PhdrsOutOfFile) << len;
            ASSERT_EQ(p.limit, len);  // the file size it was checked against
        }
    }
}

TEST(FreestandingElf, HeaderStatusesCarryTheBadValue) {
    auto b = minimal_exec();
    b.eh.e_ident[EI_CLASS] = ELFCLASS32;
    Image img;
    Problem p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::NotElf64);
    EXPECT_EQ(p.value, uint64_t{ELFCLASS32});
    b = minimal_exec();
    b.eh.e_machine = EM_AARCH64;
    p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::WrongMachine);
    EXPECT_EQ(p.value, uint64_t{EM_AARCH64});
    b = minimal_exec();
    b.eh.e_type = ET_REL;
    EXPECT_EQ(parse_status(b.build()), Status::NotExecutable);
    b = minimal_exec();
    b.eh.e_phentsize = 64;
    p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::BadPhentsize);
    EXPECT_EQ(p.value, 64u);
    EXPECT_EQ(p.limit, sizeof(Elf64_Phdr));
    std::vector<uint8_t> script = {'#', '!', '/', 'b', 'i', 'n'};
    EXPECT_EQ(parse_status(script), Status::Script);
    std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
    EXPECT_EQ(parse_status(text), Status::NotElf);
}

TEST(FreestandingElf, ProgramHeaderOffsetOverflowRejected) {
    auto b = minimal_exec();
    b.eh.e_phoff = UINT64_MAX - 8;  // phoff + table size wraps around
    Image img;
    const Problem p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::PhdrsOutOfFile);
    EXPECT_EQ(p.value, UINT64_MAX - 8);
    EXPECT_EQ(p.value2, 3 * sizeof(Elf64_Phdr));
}

TEST(FreestandingElf, PartialBufferAsTheGuestReadsIt) {
    // The guest reads the first bytes of a file, not all of it: program
    // headers past those bytes ask for more; segment data past them is fine
    // (checked against the file size).
    const auto file = minimal_exec().build();
    const size_t headers = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
    Image img;
    Problem p = parse(file.data(), headers - 1, file.size(), &img);
    EXPECT_EQ(p.status, Status::PhdrsNotInBuffer);
    p = parse(file.data(), headers, file.size(), &img);
    ASSERT_TRUE(p.ok()) << message(p.status);
    ASSERT_TRUE(place(&img, 0).ok());
    EXPECT_EQ(img.entry, 0x400100u);
    // A file size that does not cover the data segment still fails.
    p = parse(file.data(), headers, 0x1020, &img);
    EXPECT_EQ(p.status, Status::SegmentPastEof);
    EXPECT_EQ(p.index, 1);
}

// ---------------------------------------------------------------- program headers

TEST(FreestandingElf, SegmentOverflowsRejected) {
    auto b = minimal_exec();
    b.ph[1].p_offset = UINT64_MAX - 0xf;  // offset + filesz wraps
    Image img;
    Problem p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::SegmentPastEof);
    EXPECT_EQ(p.index, 1);

    b = minimal_exec();
    b.ph[1].p_vaddr = 0xfffffffffffff010;  // vaddr + memsz wraps
    p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::AddressOverflow);
    EXPECT_EQ(p.index, 1);
    EXPECT_EQ(p.value, 0xfffffffffffff010u);
    EXPECT_EQ(p.value2, 0x3000u);

    b = minimal_exec();
    b.ph.push_back(other(PT_TLS, 0x1010, 0xfffffffffffffff0, 0x20));  // vaddr + memsz wraps
    p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::BadTls);
    EXPECT_EQ(p.index, 3);
}

TEST(FreestandingElf, OverlapNamesBothHeaders) {
    auto b = minimal_exec();
    b.ph.insert(b.ph.begin(), other(PT_NOTE, 0x100, 0x400100, 0x10));
    b.ph.push_back(load(0x1020, 0x402020, 0, 0x10, PF_R));  // inside the data segment
    Image img;
    const Problem p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::OverlappingSegments);
    EXPECT_EQ(p.index, 2);
    EXPECT_EQ(p.index2, 4);
}

TEST(FreestandingElf, EntryChecks) {
    auto b = minimal_exec();
    b.eh.e_entry = 0x402010;  // in the data segment
    Image img;
    Problem p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::EntryNotExecutable);
    EXPECT_EQ(p.index, 1);
    EXPECT_EQ(p.value, 0x402010u);
    b.eh.e_entry = 0x400200;  // one past the end of text
    EXPECT_EQ(parse_status(b.build()), Status::EntryOutside);
}

TEST(FreestandingElf, StackAndTlsDescribed) {
    auto b = minimal_exec();
    b.ph.push_back(other(PT_TLS, 0x1010, 0x402010, 0x10));
    b.ph.back().p_memsz = 0x18;
    b.ph.back().p_align = 16;
    Image img;
    const auto file = b.build();  // img points into it
    ASSERT_TRUE(parse_all(file, &img).ok());
    EXPECT_TRUE(img.has_gnu_stack);
    EXPECT_FALSE(img.exec_stack);
    ASSERT_TRUE(img.has_tls);
    EXPECT_EQ(img.tls_index, 3);
    ASSERT_TRUE(place(&img, 0).ok());
    Segment tls;
    ASSERT_TRUE(tls_segment(img, &tls));
    EXPECT_EQ(tls.vaddr, 0x402010u);
    EXPECT_EQ(tls.filesz, 0x10u);
    EXPECT_EQ(tls.memsz, 0x18u);
    EXPECT_EQ(tls.align, 16u);

    b.ph[2].p_flags = PF_R | PF_W | PF_X;  // an executable stack requested
    ASSERT_TRUE(parse_all(b.build(), &img).ok());
    EXPECT_TRUE(img.exec_stack);
    b.ph.back().p_filesz = 0x20;  // filesz > memsz
    EXPECT_EQ(parse_status(b.build()), Status::BadTls);
}

// ---------------------------------------------------------------- PT_INTERP

TEST(FreestandingElf, InterpreterPathExtracted) {
    const auto file = dynamic_pie().build();
    Image img;
    ASSERT_TRUE(parse_all(file, &img).ok());
    EXPECT_EQ(img.kind, Kind::Dynamic);
    ASSERT_TRUE(img.has_interp);
    EXPECT_EQ(img.interp_index, 1);
    EXPECT_EQ(img.interp_offset, 0x180u);
    EXPECT_EQ(img.interp_size, sizeof kLdSo);
    const char* path = nullptr;
    ASSERT_TRUE(interp_path(img, file.data(), file.size(), &path).ok());
    EXPECT_STREQ(path, kLdSo);

    // Only the first bytes read: the caller fetches the path itself.
    Problem p = interp_path(img, file.data(), 0x180 + 4, &path);
    EXPECT_EQ(p.status, Status::InterpNotInBuffer);
    EXPECT_TRUE(check_interp_path(file.data() + img.interp_offset, img.interp_size).ok());
}

TEST(FreestandingElf, BadInterpreterRejected) {
    auto b = dynamic_pie();
    b.blobs.back().second.back() = 'x';  // no NUL at the end
    auto file = b.build();
    Image img;
    ASSERT_TRUE(parse_all(file, &img).ok());
    const char* path = nullptr;
    EXPECT_EQ(interp_path(img, file.data(), file.size(), &path).status, Status::InterpNotTerminated);
    b.blobs.back().second.assign(sizeof kLdSo, 0);  // empty string
    file = b.build();
    ASSERT_TRUE(parse_all(file, &img).ok());
    EXPECT_EQ(interp_path(img, file.data(), file.size(), &path).status, Status::InterpNotTerminated);

    b = dynamic_pie();
    b.ph[1].p_filesz = 1;  // room for the NUL only
    Problem p = parse_all(b.build(), &img);
    EXPECT_EQ(p.status, Status::BadInterp);
    EXPECT_EQ(p.index, 1);
    b.ph[1].p_filesz = kMaxInterpSize + 1;
    EXPECT_EQ(parse_status(b.build()), Status::BadInterp);
    b.ph[1].p_filesz = sizeof kLdSo;
    b.ph[1].p_offset = UINT64_MAX - 4;  // offset + size wraps
    EXPECT_EQ(parse_status(b.build()), Status::BadInterp);

    b = dynamic_pie();
    b.ph.push_back(b.ph[1]);
    EXPECT_EQ(parse_status(b.build()), Status::MultipleInterp);
}

// ---------------------------------------------------------------- placement

TEST(FreestandingElf, DynamicImageAtAnyBase) {
    const auto file = dynamic_pie().build();
    Image img;
    ASSERT_TRUE(parse_all(file, &img).ok());
    EXPECT_EQ(img.raw_start, 0u);
    EXPECT_EQ(image_span(img), 0x6000u);
    for (uint64_t base : {uint64_t{0x400000}, uint64_t{0x555555554000}, uint64_t{0x7f0000000000}}) {
        SCOPED_TRACE(base);
        ASSERT_TRUE(place(&img, base).ok());
        EXPECT_EQ(img.load_bias, base);
        EXPECT_EQ(img.entry, base + 0x100);
        EXPECT_EQ(img.phdr_vaddr, base + 0x40);  // from PT_PHDR
        EXPECT_EQ(img.image_start, base);
        EXPECT_EQ(img.image_end, base + 0x6000);
        EXPECT_EQ(relocate(img, 0x2010), base + 0x2010);
        std::vector<Segment> segs;
        for (uint16_t i = 0; i < img.phnum; i++)
            if (Segment s; segment(img, i, &s))
                segs.push_back(s);
        ASSERT_EQ(segs.size(), 2u);
        EXPECT_EQ(segs[0].index, 2);
        EXPECT_EQ(segs[0].vaddr, base);
        EXPECT_EQ(segs[1].vaddr, base + 0x2010);
        EXPECT_EQ(segs[1].file_offset, 0x1010u);  // the file side never moves
    }
}

TEST(FreestandingElf, LinkedAboveZeroBiasIsRelativeToLowestPage) {
    auto b = minimal_pie();
    b.eh.e_entry = 0x7100;
    b.ph[0].p_vaddr = 0x7040;
    b.ph[1].p_vaddr = 0x7000;
    b.ph[2].p_vaddr = 0x9010;
    Image img;
    const auto file = b.build();  // img points into it
    ASSERT_TRUE(parse_all(file, &img).ok());
    EXPECT_EQ(img.raw_start, 0x7000u);
    ASSERT_TRUE(place(&img, 0x10000000).ok());
    EXPECT_EQ(img.load_bias, 0x10000000u - 0x7000u);
    EXPECT_EQ(img.entry, 0x10000100u);
    EXPECT_EQ(img.image_start, 0x10000000u);
}

TEST(FreestandingElf, PlacementChecks) {
    Image img;
    const auto file = minimal_pie().build();  // img points into it
    ASSERT_TRUE(parse_all(file, &img).ok());
    Problem p = place(&img, 0x400010);
    EXPECT_EQ(p.status, Status::BaseUnaligned);
    EXPECT_EQ(p.value, 0x400010u);
    p = place(&img, 0xfffffffffffff000);  // the text segment ends below 2^64, above the limit
    EXPECT_EQ(p.status, Status::AboveLimit);
    EXPECT_EQ(p.index, 1);
    p = place(&img, 0xfffffffffffff000, UINT64_MAX);  // the data segment wraps
    EXPECT_EQ(p.status, Status::RelocatedOverflow);
    EXPECT_EQ(p.index, 2);
    p = place(&img, 0x10000000, 0x10004000);  // the bss tail ends at +0x5010
    EXPECT_EQ(p.status, Status::AboveLimit);
    EXPECT_EQ(p.index, 2);
    EXPECT_EQ(p.value, 0x10005010u);
    EXPECT_EQ(p.limit, 0x10004000u);
    // A failed placement does not spoil the next one.
    ASSERT_TRUE(place(&img, 0x20000000).ok());
    EXPECT_EQ(img.entry, 0x20000100u);
    ASSERT_TRUE(place(&img, 0x30000000).ok());
    EXPECT_EQ(img.phdr_vaddr, 0x30000040u);
}

TEST(FreestandingElf, ExecutableIgnoresBase) {
    Image img;
    const auto file = minimal_exec().build();  // img points into it
    ASSERT_TRUE(parse_all(file, &img).ok());
    ASSERT_TRUE(place(&img, 0x12345).ok());
    EXPECT_EQ(img.load_bias, 0u);
    EXPECT_EQ(img.entry, 0x400100u);
    EXPECT_EQ(img.phdr_vaddr, 0x400040u);
}

TEST(FreestandingElf, MaxAlignForHugePageSegments) {
    auto b = minimal_pie();
    b.ph[2].p_align = 0x200000;
    Image img;
    ASSERT_TRUE(parse_all(b.build(), &img).ok());
    EXPECT_EQ(img.max_align, 0x200000u);
    ASSERT_TRUE(parse_all(minimal_pie().build(), &img).ok());
    EXPECT_EQ(img.max_align, 4096u);  // never below the page size
}

// ---------------------------------------------------------------- loading

TEST(FreestandingElf, LoadCopiesZeroesAndChecksFirst) {
    const auto file = minimal_pie().build();
    Image img;
    ASSERT_TRUE(parse_all(file, &img).ok());
    ASSERT_TRUE(place(&img, 0x200000).ok());
    std::vector<uint8_t> mem(0x6000, 0xAA);
    // One byte short of the bss end: refused, and nothing written.
    Problem p = load_segments(img, file.data(), file.size(), mem.data(), 0x5010 - 1, 0x200000);
    EXPECT_EQ(p.status, Status::DestinationTooSmall);
    EXPECT_EQ(p.value, 0x202010u);
    EXPECT_EQ(p.value2, 0x205010u);
    for (uint8_t byte : mem)
        ASSERT_EQ(byte, 0xAA);
    p = load_segments(img, file.data(), file.size() - 1, mem.data(), mem.size(), 0x200000);
    EXPECT_EQ(p.status, Status::FileMismatch);
    ASSERT_TRUE(load_segments(img, file.data(), file.size(), mem.data(), mem.size(), 0x200000).ok());
    EXPECT_EQ(std::memcmp(mem.data(), file.data(), 0x200), 0);
    EXPECT_EQ(std::memcmp(mem.data() + 0x2010, file.data() + 0x1010, 0x20), 0);
    EXPECT_EQ(mem[0x2030], 0);          // bss
    EXPECT_EQ(mem[0x5010 - 1], 0);
    EXPECT_EQ(mem[0x200], 0xAA);        // gap untouched
    EXPECT_EQ(mem[0x5010], 0xAA);       // past the end untouched
}

TEST(FreestandingElf, EveryStatusHasItsOwnMessage) {
    std::set<std::string> seen;
    for (int s = 0; s <= static_cast<int>(Status::DestinationTooSmall); s++) {
        const std::string text = message(static_cast<Status>(s));
        EXPECT_NE(text, "unknown ELF problem") << s;
        EXPECT_TRUE(seen.insert(text).second) << "duplicate message: " << text;
    }
}

// ---------------------------------------------------------------- real binaries

TEST(FreestandingElfReal, DynamicProgramAndItsInterpreter) {
    // A dynamically linked system binary names ld.so; ld.so itself is an
    // ET_DYN without PT_INTERP. Both parse and place as execve will do it.
    std::vector<uint8_t> exe;
    for (const char* p : {"/bin/ls", "/usr/bin/ls", "/bin/cat", "/usr/bin/env"}) {
        exe = read_file(p);
        if (!exe.empty())
            break;
    }
    if (exe.empty())
        GTEST_SKIP() << "no dynamically linked system binary found";
    Image img;
    Problem p = parse_all(exe, &img);
    ASSERT_TRUE(p.ok()) << message(p.status);
    if (!img.has_interp)
        GTEST_SKIP() << "the system binary is not dynamically linked";
    const char* path = nullptr;
    ASSERT_TRUE(interp_path(img, exe.data(), exe.size(), &path).ok());
    const auto interp = read_file(path);
    if (interp.empty())
        GTEST_SKIP() << path << " not readable";
    ASSERT_TRUE(place(&img, 0x555555554000).ok());
    EXPECT_NE(img.phdr_vaddr, 0u);

    Image ld;
    p = parse_all(interp, &ld);
    ASSERT_TRUE(p.ok()) << message(p.status);
    EXPECT_EQ(ld.kind, Kind::Dynamic);
    EXPECT_FALSE(ld.has_interp);
    ASSERT_TRUE(place(&ld, 0x7f0000000000).ok());
    EXPECT_EQ(ld.image_start, 0x7f0000000000u);
    EXPECT_GT(ld.entry, ld.image_start);
    EXPECT_LT(ld.entry, ld.image_end);
}

}  // namespace
}  // namespace lightvm::elf
