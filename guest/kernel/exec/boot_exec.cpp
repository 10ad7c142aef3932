#include "kernel/exec/boot_exec.hpp"

#include "freestanding/elf/elf.hpp"
#include "freestanding/exec/initial_stack.hpp"
#include "kernel/dev/console.hpp"
#include "kernel/exec/elf_map.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/kernel_open.hpp"
#include "kernel/fs/proc_files.hpp"
#include "kernel/fs/stat.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"
#include "lib/chacha20.hpp"
#include "vdso/vdso.hpp"

namespace lightvm::guest {

ChaCha20Rng& kernel_rng();

namespace {

// Where things go (Linux's x86-64 choices, randomised as Linux does unless
// --no-aslr): an ET_DYN program at ELF_ET_DYN_BASE plus up to 1 TiB, the
// stack top below the user-space end minus up to 16 GiB, the mmap area
// (the interpreter, libraries) below the stack minus up to 1 TiB, brk
// after the program plus up to 32 MiB.
constexpr uint64_t kDynBase = 0x555555554000ull;
constexpr uint64_t kStackTop = kUserMax - (1ull << 30);

struct Layout {
    uint64_t dyn_base, stack_top, mmap_gap, brk_gap;
};

uint64_t random_pages(unsigned bits) {
    uint64_t r;
    kernel_rng().fill(&r, sizeof r);
    return (r & ((1ull << bits) - 1)) * kPage;
}

Layout choose_layout() {
    if (boot().flags & abi::kBootNoAslr)
        return {kDynBase, kStackTop, 0, 0};
    return {kDynBase + random_pages(28), kStackTop - random_pages(22), random_pages(28), random_pages(13)};
}

[[noreturn]] void fail(const char* what, const char* detail = nullptr) {
    static const char prefix[] = "lightvm guest: cannot start the program: ";
    console_write(abi::kStreamStderr, prefix, sizeof prefix - 1);
    console_write(abi::kStreamStderr, what, strlen(what));
    if (detail) {
        console_write(abi::kStreamStderr, " ", 1);
        console_write(abi::kStreamStderr, detail, strlen(detail));
    }
    console_write(abi::kStreamStderr, "\n", 1);
    exit_vm(127, 0);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// The interpreter (ld.so), from the guest's file system, at a free place
// in the mmap area. Returns its load bias (AT_BASE) and entry.
void load_interpreter(const char* path, uint64_t* base, uint64_t* entry) {
    OpenFile* f;
    if (kernel_open(path, &f) < 0)
        fail("interpreter not found in the guest's file system (share it with --rootfs or --fs):", path);
    Stat st;
    static uint8_t head[4096];
    long n = file_stat(f, &st) < 0 ? -1 : file_read(f, head, sizeof head, 0);
    elf::Image img;
    if (n < 0 || (st.mode & S_IFMT) != S_IFREG || !elf::parse(head, static_cast<size_t>(n), st.size, &img).ok() ||
        img.kind != elf::Kind::Dynamic || img.has_interp)
        fail("not a valid ELF interpreter:", path);
    uint64_t align = img.max_align > kPage ? img.max_align : kPage;
    uint64_t span = elf::image_span(img);
    long at = mem_mmap(0, span + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, nullptr, 0);
    if (at < 0)
        fail("no room for the interpreter", path);
    uint64_t start = align_up(static_cast<uint64_t>(at), align);
    if (start > static_cast<uint64_t>(at))
        mem_munmap(static_cast<uint64_t>(at), start - static_cast<uint64_t>(at));
    if (static_cast<uint64_t>(at) + align > start)
        mem_munmap(start + span, static_cast<uint64_t>(at) + align - start);
    if (!elf::place(&img, start, kUserMax).ok() || elf_map_segments(img, {f}) < 0)
        fail("out of memory loading the interpreter", path);
    file_put(f);  // the mappings hold their own references
    *base = img.load_bias;
    *entry = img.entry;
}

// argc strings, then envc strings, then AT_EXECFN, packed by the monitor.
exec::Strings take_strings(const char*& p, const char* end, uint32_t count) {
    exec::Strings s{p, 0, count};
    for (uint32_t i = 0; i < count && p < end; ++i)
        p += strlen(p) + 1;
    s.size = static_cast<size_t>(p - s.data);
    return s;
}

uint64_t build_stack(const exec::ProgramAux& aux, uint64_t top) {
    const abi::BootInfo& b = boot();
    const char* p = static_cast<const char*>(phys_to_virt(b.args_gpa));
    const char* end = p + b.args_size;
    exec::StackSpec spec;
    spec.stack_top = top;
    spec.argv = take_strings(p, end, b.argc);
    spec.envp = take_strings(p, end, b.envc);
    spec.execfn = {p, p < end ? strlen(p) : 0};
    spec.platform = {"x86_64", 6};
    exec::AuxEntry auxv[exec::kMaxProgramAux];
    spec.auxv = auxv;
    spec.auxc = exec::fill_auxv(aux, auxv);
    uint8_t random[exec::kRandomSize];
    kernel_rng().fill(random, sizeof random);
    spec.random = random;
    uint64_t size;
    exec::Problem pr = exec::measure_stack(spec, &size);
    if (!pr.ok())
        fail(exec::message(pr.status));
    auto* buf = static_cast<uint8_t*>(kmem_alloc(size));
    uint64_t sp;
    if (!buf || !exec::build_stack(spec, buf, size, &sp).ok() || copy_to_user(sp, buf, size) < 0)
        fail("no memory for the initial stack");
    kmem_free(buf, size);
    proc_capture_auxv(sp);  // /proc/self/auxv
    return sp;
}

}  // namespace

ProgramStart exec_boot_program() {
    const abi::BootInfo& b = boot();
    const auto* file = static_cast<const uint8_t*>(phys_to_virt(b.image_gpa));
    Layout lay = choose_layout();
    if (mem_setup_stack(lay.stack_top, abi::kStackSize, lay.mmap_gap) < 0)
        fail("out of memory (stack)");
    elf::Image img;
    elf::Problem pr = elf::parse(file, b.image_size, b.image_size, &img);
    uint64_t align = img.max_align > kPage ? img.max_align : kPage;
    if (pr.ok())
        pr = elf::place(&img, align_up(lay.dyn_base, align), kUserMax);
    if (!pr.ok())
        fail(elf::message(pr.status));
    if (elf_map_segments(img, {nullptr}) < 0)
        fail("out of memory (segments)");
    mem_set_brk(img.image_end + lay.brk_gap);

    exec::ProgramAux aux;
    aux.phdr = img.phdr_vaddr;
    aux.phent = img.phentsize;
    aux.phnum = img.phnum;
    aux.entry = img.entry;
    aux.hwcap = b.hwcap;
    aux.sysinfo_ehdr = vdso_base();
    uint64_t entry = img.entry;
    if (img.has_interp) {
        const char* path;
        if (!elf::interp_path(img, file, b.image_size, &path).ok())
            fail("bad PT_INTERP");
        load_interpreter(path, &aux.base, &entry);
    }
    return {entry, build_stack(aux, lay.stack_top)};
}

}  // namespace lightvm::guest
