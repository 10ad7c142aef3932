#include "kernel/exec/boot_exec.hpp"

#include "freestanding/elf/elf.hpp"
#include "freestanding/exec/initial_stack.hpp"
#include "kernel/dev/console.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"
#include "lib/chacha20.hpp"

namespace lightvm::guest {

ChaCha20Rng& kernel_rng();

namespace {

// Where things go in a new address space (no randomisation yet: ASLR comes
// with the dynamic loader). ET_DYN at Linux's ELF_ET_DYN_BASE; the stack
// at the top of user space.
constexpr uint64_t kDynBase = 0x555555554000ull;
constexpr uint64_t kStackTop = kUserMax - (1ull << 30);

[[noreturn]] void fail(const char* what) {
    console_write(abi::kStreamStderr, "lightvm guest: cannot start the program: ", 41);
    console_write(abi::kStreamStderr, what, strlen(what));
    console_write(abi::kStreamStderr, "\n", 1);
    exit_vm(126, 0);
}

int prot_of(uint32_t pflags) {
    return ((pflags & PF_R) ? PROT_READ : 0) | ((pflags & PF_W) ? PROT_WRITE : 0) | ((pflags & PF_X) ? PROT_EXEC : 0);
}

// Maps the PT_LOAD segments. Neighbours may share a page (text ends and
// data begins in it): that page is mapped once, with both protections.
void map_segments(const elf::Image& img) {
    uint64_t prev_end = 0;  // page-aligned end of the previous segment's pages
    int prev_prot = 0;
    for (uint16_t i = 0; i < img.phnum; ++i) {
        elf::Segment s;
        if (!elf::segment(img, i, &s))
            continue;
        int prot = prot_of(s.flags);
        uint64_t start = page_down(s.vaddr), file_end = page_up(s.vaddr + s.filesz), end = page_up(s.vaddr + s.memsz);
        uint64_t off = page_down(s.file_offset);
        if (start < prev_end) {  // shared first page
            if (mem_mprotect(start, kPage, prot | prev_prot) < 0)
                fail("out of memory (shared segment page)");
            off += prev_end - start;
            start = prev_end;
        }
        if (file_end > start && mem_map_image(start, file_end - start, prot, off) < 0)
            fail("out of memory (segments)");
        uint64_t anon = file_end > start ? file_end : start;
        if (end > anon && mem_mmap(anon, end - anon, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, nullptr, 0) < 0)
            fail("out of memory (bss)");
        // The rest of the last file page is not the segment's: bss reads as zero.
        uint64_t data_end = s.vaddr + s.filesz;
        if ((prot & PROT_WRITE) && s.memsz > s.filesz && data_end < file_end)
            clear_user(data_end, file_end - data_end);
        prev_end = end;
        prev_prot = prot;
    }
}

// argc strings, then envc strings, then AT_EXECFN, packed by the monitor.
exec::Strings take_strings(const char*& p, const char* end, uint32_t count) {
    exec::Strings s{p, 0, count};
    for (uint32_t i = 0; i < count && p < end; ++i)
        p += strlen(p) + 1;
    s.size = static_cast<size_t>(p - s.data);
    return s;
}

uint64_t build_stack(const elf::Image& img, uint64_t top) {
    const abi::BootInfo& b = boot();
    const char* p = static_cast<const char*>(phys_to_virt(b.args_gpa));
    const char* end = p + b.args_size;
    exec::StackSpec spec;
    spec.stack_top = top;
    spec.argv = take_strings(p, end, b.argc);
    spec.envp = take_strings(p, end, b.envc);
    spec.execfn = {p, p < end ? strlen(p) : 0};
    spec.platform = {"x86_64", 6};
    exec::ProgramAux aux;
    aux.phdr = img.phdr_vaddr;
    aux.phent = img.phentsize;
    aux.phnum = img.phnum;
    aux.entry = img.entry;
    aux.hwcap = b.hwcap;
    exec::AuxEntry auxv[exec::kMaxProgramAux];
    spec.auxv = auxv;
    spec.auxc = exec::fill_auxv(aux, auxv);
    uint8_t random[exec::kRandomSize];
    kernel_rng().fill(random, sizeof random);
    spec.random = random;
    uint64_t size;
    if (!exec::measure_stack(spec, &size).ok())
        fail(exec::message(exec::measure_stack(spec, &size).status));
    auto* buf = static_cast<uint8_t*>(kmem_alloc(size));
    uint64_t sp;
    if (!buf || !exec::build_stack(spec, buf, size, &sp).ok() || copy_to_user(sp, buf, size) < 0)
        fail("initial stack");
    kmem_free(buf, size);
    return sp;
}

}  // namespace

ProgramStart exec_boot_program() {
    const abi::BootInfo& b = boot();
    const auto* file = static_cast<const uint8_t*>(phys_to_virt(b.image_gpa));
    elf::Image img;
    elf::Problem pr = elf::parse(file, b.image_size, b.image_size, &img);
    if (!pr.ok())
        fail(elf::message(pr.status));
    uint64_t align = img.max_align > kPage ? img.max_align : kPage;
    pr = elf::place(&img, (kDynBase + align - 1) & ~(align - 1), kUserMax);
    if (!pr.ok())
        fail(elf::message(pr.status));
    map_segments(img);
    mem_set_brk(img.image_end);
    // RLIMIT_STACK's 8 MiB, faulted in as it grows; below it nothing is
    // mapped, so an overflow faults instead of corrupting a neighbour.
    if (mem_setup_stack(kStackTop, abi::kStackSize) < 0)
        fail("out of memory (stack)");
    return {img.entry, build_stack(img, kStackTop)};
}

}  // namespace lightvm::guest
