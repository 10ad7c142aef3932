// The hosted tests' stand-ins for what the memory manager needs from the
// CPU (CR3 loads) and the file layer (guest_mm_fixture.hpp).
#include <cstdlib>
#include <cstring>

#include "guest_mm_fixture.hpp"
#include "kernel/mm/kmem.hpp"

namespace lightvm::guest {

testing::MmStubs& testing::mm_stubs() {
    static MmStubs s;
    return s;
}

void mm_load_root(uint64_t root) {
    testing::mm_stubs().root_loads++;
    testing::mm_stubs().loaded_root = root;
}
uint64_t mm_loaded_root() { return testing::mm_stubs().loaded_root; }
void mm_flush_remote(uint64_t) {}  // one CPU in hosted tests
void cpu_spin_yield(uint32_t) {}
void mm_forget_root(uint64_t) {}
void mm_flush_pages(const uint64_t*, uint32_t n) { testing::mm_stubs().pages_flushed += static_cast<int>(n); }

long mm_file_fill(OpenFile*, void* dst, uint64_t len, uint64_t offset) {
    const auto& f = testing::mm_stubs().file;
    if (offset >= f.size())
        return 0;
    uint64_t n = f.size() - offset < len ? f.size() - offset : len;
    std::memcpy(dst, f.data() + offset, n);
    return static_cast<long>(n);
}
// Kernel buffers (pipe rings) outlive any one test's fake RAM: host heap.
void* kmem_alloc(uint64_t bytes) {
    void* p = std::aligned_alloc(4096, (bytes + 4095) & ~uint64_t{4095});
    if (p)
        std::memset(p, 0, bytes);
    return p;
}
void kmem_free(void* p, uint64_t) { std::free(p); }

long mm_file_store(OpenFile*, const void* src, uint64_t len, uint64_t offset) {
    auto& f = testing::mm_stubs().file;
    if (offset + len > f.size())
        f.resize(offset + len);
    std::memcpy(f.data() + offset, src, len);
    return static_cast<long>(len);
}
int64_t mm_file_size(OpenFile*) { return static_cast<int64_t>(testing::mm_stubs().file.size()); }
void mm_file_get(OpenFile*) { testing::mm_stubs().file_refs++; }
void mm_file_put(OpenFile*) { testing::mm_stubs().file_refs--; }
bool mm_file_has_frames(OpenFile*) { return false; }
bool mm_file_writable(OpenFile*) { return true; }
const char* mm_file_name(OpenFile*) { return nullptr; }
uint64_t mm_file_cached(OpenFile*, uint64_t, uint64_t, long* err) {
    *err = 0;
    return 0;  // no page cache: every mapping reads its own copy
}
uint64_t mm_file_frame(OpenFile*, uint64_t, long* err) {
    *err = 0;
    return 0;  // the stub file is read and written, like a host file
}

}  // namespace lightvm::guest

namespace lightvm::guest {
// Hosted: no monitor to call (memory_set_backed(~0, ~0) keeps frames from
// asking to grow). Every hypercall takes the bounced path, where a memory
// release does what the monitor's hole punch does: the range reads as zero.
uint64_t hypercall_gpa(const volatile void*) { return ~0ull; }
void hypercall_bounced(uint16_t nr, volatile void* arg, size_t) {
    if (nr != abi::kHcMemRelease)
        return;
    auto* hc = static_cast<volatile abi::HcMemRelease*>(arg);
    std::memset(phys_to_virt(hc->start), 0, hc->end - hc->start);
    testing::mm_stubs().released += hc->end - hc->start;
    hc->result = 0;
}
}  // namespace lightvm::guest
