#include "kernel/exec/loader.hpp"

#include "kernel/errno.hpp"
#include "kernel/exec/elf_map.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/proc_files.hpp"
#include "kernel/fs/stat.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/process.hpp"
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
// Linux allows argv + envp up to a quarter of the stack limit (2 MiB).
constexpr uint64_t kMaxStackImage = abi::kStackSize / 4 + 64 * 1024;

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

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// Maps the interpreter whose first page goes to `head`, which the parsed
// image's program headers point into until the segments are mapped.
LoadError map_interpreter(OpenFile* f, uint8_t* head, uint64_t* base, uint64_t* entry) {
    Stat st;
    long n = file_stat(f, &st) < 0 ? -1 : file_read(f, head, kPage, 0);
    elf::Image img;
    bool ok = n >= 0 && (st.mode & S_IFMT) == S_IFREG &&
              elf::parse(head, static_cast<size_t>(n), st.size, &img).ok() && img.kind == elf::Kind::Dynamic &&
              !img.has_interp;
    if (!ok)
        return {-err::kLibBad, "not a valid ELF interpreter:"};
    uint64_t align = img.max_align > kPage ? img.max_align : kPage;
    uint64_t span = elf::image_span(img);
    long at = mem_mmap(0, span + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, nullptr, 0);
    if (at < 0)
        return {-err::kNoMem, "no room for the interpreter"};
    uint64_t start = align_up(static_cast<uint64_t>(at), align);
    if (start > static_cast<uint64_t>(at))
        mem_munmap(static_cast<uint64_t>(at), start - static_cast<uint64_t>(at));
    if (static_cast<uint64_t>(at) + align > start)
        mem_munmap(start + span, static_cast<uint64_t>(at) + align - start);
    if (!elf::place(&img, start, kUserMax).ok() || elf_map_segments(img, {f}) < 0)
        return {-err::kNoMem, "out of memory loading the interpreter"};
    *base = img.load_bias;
    *entry = img.entry;
    return {0, nullptr};
}

// The interpreter (ld.so) at a free, aligned place in the mmap area.
// Returns its load bias (AT_BASE) and entry.
LoadError load_interpreter(OpenFile* f, uint64_t* base, uint64_t* entry) {
    auto* head = static_cast<uint8_t*>(kmem_alloc(kPage));
    if (!head)
        return {-err::kNoMem, "out of memory loading the interpreter"};
    LoadError r = map_interpreter(f, head, base, entry);
    kmem_free(head, kPage);  // only now: the parsed image points into it
    return r;
}

LoadError build_stack(const ProgramArgs& args, const exec::ProgramAux& aux, uint64_t top, uint64_t* sp) {
    exec::StackSpec spec;
    spec.stack_top = top;
    spec.argv = args.argv;
    spec.envp = args.envp;
    spec.execfn = args.execfn;
    spec.platform = {"x86_64", 6};
    spec.max_size = kMaxStackImage;
    exec::AuxEntry auxv[exec::kMaxProgramAux];
    spec.auxv = auxv;
    spec.auxc = exec::fill_auxv(aux, auxv);
    uint8_t random[exec::kRandomSize];
    kernel_rng().fill(random, sizeof random);
    spec.random = random;
    uint64_t size;
    exec::Problem pr = exec::measure_stack(spec, &size);
    if (!pr.ok())
        return {-err::k2Big, exec::message(pr.status)};
    auto* buf = static_cast<uint8_t*>(kmem_alloc(size));
    bool ok = buf && exec::build_stack(spec, buf, size, sp).ok() && copy_to_user(*sp, buf, size) == 0;
    kmem_free(buf, size);
    if (!ok)
        return {-err::kNoMem, "no memory for the initial stack"};
    proc_capture_auxv(*sp);  // /proc/self/auxv
    return {0, nullptr};
}

}  // namespace

long exec_parse(const ProgramSource& src, elf::Image* img) {
    if (!elf::parse(src.head, src.head_len, src.size, img).ok())
        return -err::kNoExec;
    return 0;
}

const char* exec_interp_path(const elf::Image& img, const ProgramSource& src) {
    const char* path = nullptr;
    if (!img.has_interp || !elf::interp_path(img, src.head, src.head_len, &path).ok())
        return nullptr;
    return path;
}

// The main stack's room: the soft RLIMIT_STACK at exec, as on Linux, where
// the stack then grows on demand up to the limit. Here the whole room is
// reserved at once (it costs nothing until touched: only the top 128 KiB
// is populated) — a limit raised after exec applies from the next exec.
// At most 1 GiB (also for "unlimited"); at least 256 KiB.
static uint64_t stack_room() {
    constexpr uint64_t kMin = 256 * 1024, kMax = 1ull << 30;
    const uint64_t limit = current_process()->rlimit[RLIMIT_STACK][0];
    return limit < kMin ? kMin : limit > kMax ? kMax : page_down(limit);
}

LoadError exec_load(const ProgramSource& src, elf::Image& img, const ProgramArgs& args, ProgramStart* out) {
    Layout lay = choose_layout();
    if (mem_setup_stack(lay.stack_top, stack_room(), lay.mmap_gap) < 0)
        return {-err::kNoMem, "out of memory (stack)"};
    uint64_t align = img.max_align > kPage ? img.max_align : kPage;
    elf::Problem pr = elf::place(&img, align_up(lay.dyn_base, align), kUserMax);
    if (!pr.ok())
        return {-err::kNoExec, elf::message(pr.status)};
    if (elf_map_segments(img, {src.file}) < 0)
        return {-err::kNoMem, "out of memory (segments)"};
    mem_set_brk(img.image_end + lay.brk_gap);

    exec::ProgramAux aux;
    aux.phdr = img.phdr_vaddr;
    aux.phent = img.phentsize;
    aux.phnum = img.phnum;
    aux.entry = img.entry;
    aux.hwcap = boot().hwcap;
    aux.sysinfo_ehdr = vdso_base();
    uint64_t entry = img.entry;
    if (src.interp) {
        LoadError e = load_interpreter(src.interp, &aux.base, &entry);
        if (e.err)
            return e;
    }
    out->entry = entry;
    return build_stack(args, aux, lay.stack_top, &out->sp);
}

}  // namespace lightvm::guest
