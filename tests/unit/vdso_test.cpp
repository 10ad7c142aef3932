// The vDSO (guest/vdso/) is used in place, so it must be one load segment
// whose file offsets are its addresses, with nothing to relocate, and must
// export the names libcs look up under version LINUX_2.6 (musl finds them
// through DT_HASH, glibc through either hash table).
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "freestanding/elf/elf_abi.hpp"

namespace lightvm {
namespace {

class VdsoFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::ifstream in(LIGHTVM_VDSO_FILE, std::ios::binary);
        ASSERT_TRUE(in) << LIGHTVM_VDSO_FILE;
        bytes.assign(std::istreambuf_iterator<char>(in), {});
        ASSERT_GE(bytes.size(), sizeof(Elf64_Ehdr));
    }
    template <class T>
    T at(uint64_t off) const {
        T v{};
        EXPECT_LE(off + sizeof(T), bytes.size()) << off;
        if (off + sizeof(T) <= bytes.size())
            std::memcpy(&v, bytes.data() + off, sizeof v);
        return v;
    }
    std::string str(uint64_t off) const {
        std::string s;
        while (off < bytes.size() && bytes[off])
            s.push_back(static_cast<char>(bytes[off++]));
        return s;
    }
    std::vector<uint8_t> bytes;
};

TEST_F(VdsoFile, IsOneSegmentWithoutRelocationsExportingTheClocks) {
    auto eh = at<Elf64_Ehdr>(0);
    ASSERT_EQ(std::memcmp(eh.e_ident, ELFMAG, SELFMAG), 0);
    EXPECT_EQ(eh.e_type, ET_DYN);
    int loads = 0;
    uint64_t dyn = 0;
    for (uint16_t i = 0; i < eh.e_phnum; ++i) {
        auto ph = at<Elf64_Phdr>(eh.e_phoff + i * sizeof(Elf64_Phdr));
        if (ph.p_type == PT_LOAD) {
            loads++;
            EXPECT_EQ(ph.p_offset, 0u);
            EXPECT_EQ(ph.p_vaddr, 0u);
            EXPECT_EQ(ph.p_filesz, ph.p_memsz);  // no bss to clear
            EXPECT_LE(ph.p_filesz, bytes.size());
            EXPECT_EQ(ph.p_flags & PF_W, 0u);
            EXPECT_NE(ph.p_flags & PF_X, 0u);
        }
        if (ph.p_type == PT_DYNAMIC)
            dyn = ph.p_offset;
    }
    EXPECT_EQ(loads, 1);
    ASSERT_NE(dyn, 0u);
    uint64_t symtab = 0, strtab = 0, hash = 0, verdef = 0;
    for (uint64_t a = dyn; a + sizeof(Elf64_Dyn) <= bytes.size(); a += sizeof(Elf64_Dyn)) {
        auto d = at<Elf64_Dyn>(a);
        if (d.d_tag == DT_NULL)
            break;
        EXPECT_TRUE(d.d_tag != DT_RELA && d.d_tag != DT_REL && d.d_tag != DT_JMPREL && d.d_tag != DT_TEXTREL)
            << "the vDSO has relocations (tag " << d.d_tag << ")";
        if (d.d_tag == DT_SYMTAB)
            symtab = d.d_un.d_ptr;
        if (d.d_tag == DT_STRTAB)
            strtab = d.d_un.d_ptr;
        if (d.d_tag == DT_HASH)
            hash = d.d_un.d_ptr;
        if (d.d_tag == DT_VERDEF)
            verdef = d.d_un.d_ptr;
    }
    ASSERT_TRUE(symtab && strtab && hash && verdef);
    const uint32_t nsyms = at<uint32_t>(hash + 4);  // DT_HASH nchain
    std::set<std::string> names;
    for (uint32_t i = 1; i < nsyms; ++i) {
        auto sym = at<Elf64_Sym>(symtab + i * sizeof(Elf64_Sym));
        if (sym.st_shndx != 0 && ELF64_ST_TYPE(sym.st_info) == STT_FUNC)
            names.insert(str(strtab + sym.st_name));
    }
    for (const char* want : {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
                             "__vdso_clock_getres", "clock_gettime"})
        EXPECT_EQ(names.count(want), 1u) << want;
    // The second version definition names LINUX_2.6 (the first is the file's own).
    uint64_t vd = verdef + at<uint32_t>(verdef + 16);  // vd_next
    EXPECT_EQ(str(strtab + at<uint32_t>(vd + at<uint32_t>(vd + 12))), "LINUX_2.6");  // vd_aux -> vda_name
}

}  // namespace
}  // namespace lightvm
