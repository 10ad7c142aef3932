#include "kernel/mm/proc_maps.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/uapi.hpp"
#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

void hex_field(TextBuffer& t, uint64_t v, int width) {
    char digits[17];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (int i = n; i < width; ++i)
        t.ch('0');
    while (n)
        t.ch(digits[--n]);
}

// What Linux prints after the inode column: the file, or a pseudo-name.
const char* name_of(const Vma& v) {
    if (v.flags & kVmImage)
        return boot().exe_path;
    if (v.file)
        return mm_file_name(v.file);  // libraries: the path they were opened by
    if (v.flags & kVmGrowsDown)
        return "[stack]";
    if (v.flags & kVmHeap)
        return "[heap]";
    return nullptr;
}

void line(TextBuffer& t, const Vma& v) {
    size_t start = t.size();
    hex_field(t, v.start, 8);
    t.ch('-');
    hex_field(t, v.end, 8);
    t.ch(' ').ch((v.prot & PROT_READ) ? 'r' : '-').ch((v.prot & PROT_WRITE) ? 'w' : '-');
    t.ch((v.prot & PROT_EXEC) ? 'x' : '-').ch((v.flags & kVmShared) ? 's' : 'p').ch(' ');
    hex_field(t, (v.file || (v.flags & kVmImage)) ? v.offset : 0, 8);
    t.str(" 00:00 0");
    if (const char* name = name_of(v)) {
        while (t.size() - start < 73)  // Linux pads the path to column 74
            t.ch(' ');
        t.str(name);
    }
    t.ch('\n');
}

}  // namespace

char* proc_maps_text(const AddressSpace& as, uint32_t* len, uint32_t* cap) {
    // ~100 bytes a line, at most a few hundred lines in practice.
    uint32_t want = (as.nvma + 1) * (128 + abi::kMaxPath / 16);
    if (want < 4096)
        want = 4096;
    auto* buf = static_cast<char*>(kmem_alloc(want));
    if (!buf)
        return nullptr;
    TextBuffer t(buf, want);
    for (uint32_t i = 0; i < as.nvma; ++i)
        line(t, as.vmas[i]);
    *len = static_cast<uint32_t>(t.size());
    *cap = want;
    return buf;
}

}  // namespace lightvm::guest
