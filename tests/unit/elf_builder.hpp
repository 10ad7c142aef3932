// Builds ELF64 files in memory for tests of the ELF parser (host wrapper
// and freestanding), so every rejection path can be hit exactly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "freestanding/elf/elf_abi.hpp"

namespace lightvm::test {

// Assembles Ehdr + Phdrs + payload bytes into one file image.
struct ElfBuilder {
    Elf64_Ehdr eh{};
    std::vector<Elf64_Phdr> ph;
    size_t size = 0;
    bool auto_phnum = true;  // e_phnum = ph.size() unless a test overrides it
    std::vector<std::pair<uint64_t, std::vector<uint8_t>>> blobs;

    std::vector<uint8_t> build() const {
        std::vector<uint8_t> file(size, 0);
        for (const auto& [offset, bytes] : blobs)
            if (offset + bytes.size() <= file.size())
                std::memcpy(file.data() + offset, bytes.data(), bytes.size());
        Elf64_Ehdr h = eh;
        if (auto_phnum)
            h.e_phnum = static_cast<uint16_t>(ph.size());
        std::memcpy(file.data(), &h, std::min(sizeof h, file.size()));
        // Only headers that fit are written: some tests point e_phoff out of the file.
        for (size_t i = 0; i < ph.size(); i++) {
            const uint64_t at = h.e_phoff + i * sizeof(Elf64_Phdr);
            if (h.e_phoff < file.size() && at + sizeof(Elf64_Phdr) <= file.size())
                std::memcpy(file.data() + at, &ph[i], sizeof(Elf64_Phdr));
        }
        return file;
    }
};

inline Elf64_Phdr load(uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint32_t flags) {
    Elf64_Phdr p{};
    p.p_type = PT_LOAD;
    p.p_offset = offset;
    p.p_vaddr = vaddr;
    p.p_paddr = vaddr;
    p.p_filesz = filesz;
    p.p_memsz = memsz;
    p.p_flags = flags;
    p.p_align = 0x1000;
    return p;
}

inline Elf64_Phdr other(uint32_t type, uint64_t offset = 0, uint64_t vaddr = 0, uint64_t size = 0) {
    Elf64_Phdr p{};
    p.p_type = type;
    p.p_offset = offset;
    p.p_vaddr = vaddr;
    p.p_paddr = vaddr;
    p.p_filesz = size;
    p.p_memsz = size;
    p.p_flags = PF_R;
    p.p_align = 8;
    return p;
}

inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

// A minimal valid static executable:
//   ph[0] text  R+X  file [0, 0x200)       -> 0x400000  (covers the headers)
//   ph[1] data  R+W  file [0x1010, 0x1030) -> 0x402010, memsz 0x3000 (bss tail)
//   ph[2] GNU_STACK
inline ElfBuilder minimal_exec() {
    ElfBuilder b;
    std::memcpy(b.eh.e_ident, ELFMAG, SELFMAG);
    b.eh.e_ident[EI_CLASS] = ELFCLASS64;
    b.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    b.eh.e_ident[EI_VERSION] = EV_CURRENT;
    b.eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    b.eh.e_type = ET_EXEC;
    b.eh.e_machine = EM_X86_64;
    b.eh.e_version = EV_CURRENT;
    b.eh.e_entry = 0x400100;
    b.eh.e_phoff = sizeof(Elf64_Ehdr);
    b.eh.e_ehsize = sizeof(Elf64_Ehdr);
    b.eh.e_phentsize = sizeof(Elf64_Phdr);
    b.ph = {
        load(0, 0x400000, 0x200, 0x200, PF_R | PF_X),
        load(0x1010, 0x402010, 0x20, 0x3000, PF_R | PF_W),
        other(PT_GNU_STACK),
    };
    b.ph[2].p_flags = PF_R | PF_W;
    b.size = 0x1030;
    b.blobs = {{0x100, pattern(0x100, 0x11)}, {0x1010, pattern(0x20, 0x80)}};
    return b;
}

// The same image as a static-PIE linked at 0, with a PT_PHDR.
inline ElfBuilder minimal_pie() {
    ElfBuilder b = minimal_exec();
    b.eh.e_type = ET_DYN;
    b.eh.e_entry = 0x100;
    b.ph = {
        other(PT_PHDR, sizeof(Elf64_Ehdr), sizeof(Elf64_Ehdr), 4 * sizeof(Elf64_Phdr)),
        load(0, 0, 0x200, 0x200, PF_R | PF_X),
        load(0x1010, 0x2010, 0x20, 0x3000, PF_R | PF_W),
        other(PT_DYNAMIC, 0x1010, 0x2010, 0x10),
    };
    return b;
}

}  // namespace lightvm::test
