// Tests for the guest image builder: application placement checks, the
// embedded kernel, and a complete image decoded from guest memory.
#include "monitor/layout.hpp"

#include "freestanding/elf/elf_abi.hpp"
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lightvm/abi.h"
#include "x86/descriptors.hpp"
#include "x86/page_tables.hpp"

namespace lightvm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint8_t code_byte(size_t i) { return static_cast<uint8_t>(0x90 + i % 7); }
uint8_t data_byte(size_t i) { return static_cast<uint8_t>(0xa0 + i); }

// A minimal static executable:
//   ph[0] text R+X  file [0, 0x200)       -> base           (covers the headers)
//   ph[1] data R+W  file [0x1010, 0x1030) -> base + 0x2010, memsz data_memsz
//   ph[2] GNU_STACK
std::vector<uint8_t> make_elf(uint64_t base, uint64_t data_memsz = 0x3000, uint16_t type = ET_EXEC) {
    std::vector<uint8_t> file(0x1030, 0);
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = base + 0x100;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 3;
    auto load = [](uint64_t off, uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint32_t flags) {
        Elf64_Phdr p{};
        p.p_type = PT_LOAD;
        p.p_offset = off;
        p.p_vaddr = p.p_paddr = vaddr;
        p.p_filesz = filesz;
        p.p_memsz = memsz;
        p.p_flags = flags;
        p.p_align = 0x1000;
        return p;
    };
    Elf64_Phdr ph[3] = {load(0, base, 0x200, 0x200, PF_R | PF_X),
                        load(0x1010, base + 0x2010, 0x20, data_memsz, PF_R | PF_W), {}};
    ph[2].p_type = PT_GNU_STACK;
    ph[2].p_flags = PF_R | PF_W;
    ph[2].p_align = 16;
    for (size_t i = 0x100; i < 0x200; i++)
        file[i] = code_byte(i);
    for (size_t i = 0; i < 0x20; i++)
        file[0x1010 + i] = data_byte(i);
    std::memcpy(file.data(), &eh, sizeof eh);
    std::memcpy(file.data() + sizeof eh, ph, sizeof ph);
    return file;
}

// --- check_app ------------------------------------------------------------------

TEST(CheckApp, AcceptsExecutableAtFourMiB) {
    auto file = make_elf(0x400000);
    auto r = check_app(file, 64 * kMiB, "/apps/ok");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->image_start, 0x400000u);
    EXPECT_EQ(r->image_end, 0x406000u);
    EXPECT_EQ(r->entry, 0x400100u);
    EXPECT_EQ(r->kind, loader::ElfKind::Executable);
}

TEST(CheckApp, PlacesStaticPieAtPieBase) {
    auto file = make_elf(0, 0x3000, ET_DYN);
    auto r = check_app(file, 64 * kMiB, "/apps/pie");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->image_start, abi::kPieBase);
    EXPECT_EQ(r->entry, abi::kPieBase + 0x100);
}

TEST(CheckApp, RejectsImageOverlappingTheKernel) {
    for (uint64_t base : {uint64_t{0x200000}, uint64_t{0x100000}, uint64_t{0x3ff000}, uint64_t{0x1000}}) {
        auto file = make_elf(base);
        auto r = check_app(file, 64 * kMiB, "/apps/low");
        ASSERT_FALSE(r) << std::hex << base;
        EXPECT_EQ(r.error().kind, ErrorKind::BadExecutable);
        EXPECT_EQ(r.error().where, "/apps/low");
        EXPECT_NE(r.error().message.find("overlaps the guest kernel"), std::string::npos) << r.error().message;
    }
    auto r = check_app(make_elf(0x200000), 64 * kMiB, "/apps/low");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("0x200000"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().to_string().rfind("/apps/low: ", 0), 0u);
}

TEST(CheckApp, RejectsAFileTooLargeForMemory) {
    // The file goes into guest RAM whole, plus 8 MiB of frames for the program.
    auto big = make_elf(0x400000);
    big.resize(5 * kMiB);  // trailing bytes (debug info, say) count too
    auto r = check_app(big, 16 * kMiB, "/apps/big");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadExecutable);
    EXPECT_EQ(r.error().where, "/apps/big");
    EXPECT_NE(r.error().message.find("raise --mem"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("16 MiB"), std::string::npos) << r.error().message;
    EXPECT_TRUE(check_app(big, 24 * kMiB, "/apps/big"));
}

TEST(CheckApp, ParseErrorsNameThePath) {
    const std::string script = "#!/bin/sh\necho hi\n";
    auto r = check_app({reinterpret_cast<const uint8_t*>(script.data()), script.size()}, 64 * kMiB, "/apps/x.sh");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadExecutable);
    EXPECT_EQ(r.error().where, "/apps/x.sh");
    EXPECT_NE(r.error().message.find("script"), std::string::npos) << r.error().message;

    auto file = make_elf(0x400000);
    file[EI_CLASS] = ELFCLASS32;
    r = check_app(file, 64 * kMiB, "relative/path");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where, "relative/path");
}

TEST(CheckApp, SmallMemorySizeDoesNotWrapTheLimit) {
    auto r = check_app(make_elf(0x400000), 8 * kMiB, "/apps/ok");
    ASSERT_FALSE(r) << "an 8 MiB guest cannot hold a program: the limit must not underflow";
    EXPECT_NE(r.error().message.find("raise --mem"), std::string::npos) << r.error().message;
}

// --- embedded kernel -------------------------------------------------------------

TEST(EmbeddedKernel, IsAValidElf) {
    auto blob = embedded_kernel();
    ASSERT_GE(blob.size(), 64u);
    EXPECT_EQ(std::memcmp(blob.data(), "\x7f" "ELF", 4), 0);
    auto img = loader::parse_elf(blob, abi::kKernelBase);
    ASSERT_TRUE(img) << img.error().to_string();
    EXPECT_GE(img->image_start, abi::kKernelBase);
    EXPECT_LE(img->image_end, abi::kKernelLimit);
    EXPECT_GE(img->entry, abi::kKernelBase);
    EXPECT_LT(img->entry, abi::kKernelLimit);
}

// --- build_guest_image --------------------------------------------------------------

class GuestImageTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto m = GuestMemory::create(kMemSize);
        ASSERT_TRUE(m) << m.error().to_string();
        mem = std::move(*m);
        cfg.app_path = "/app";
        cfg.argv = {"/app", "x"};
        cfg.env = {"A=1"};
        cfg.mem_size = kMemSize;
        cfg.trace = true;
        cfg.hostname = "testhost";
        cfg.stdin_fd = cfg.stdout_fd = cfg.stderr_fd = -1;  // never a tty
        clock = {2000000, 12345, 111, 222};
        host.fsgsbase = true;
        host.stdio_mode[0] = S_IFCHR;
        host.stdio_mode[1] = S_IFIFO;
        host.stdio_mode[2] = S_IFREG;
        host.pid = 42;
        host.hwcap = 0x178bfbff;
        app_file = make_elf(0x400000);
        auto app = check_app(app_file, kMemSize, cfg.app_path);
        ASSERT_TRUE(app) << app.error().to_string();
        elf = *app;
        auto img = build_guest_image(mem, cfg, app_file, -1, elf, clock, host);
        ASSERT_TRUE(img) << img.error().to_string();
        image = *img;
        boot = *mem.read<abi::BootInfo>(abi::kBootInfoGpa);
    }

    uint64_t u64(uint64_t gpa) {
        auto v = mem.read<uint64_t>(gpa);
        EXPECT_TRUE(v) << std::hex << gpa;
        return v ? *v : 0;
    }
    std::optional<std::string> cstr(uint64_t gpa) {
        std::string s;
        for (uint64_t a = gpa; a < mem.size() && s.size() < 4096; a++) {
            char c = static_cast<char>(*mem.read<uint8_t>(a));
            if (c == 0)
                return s;
            s.push_back(c);
        }
        return std::nullopt;
    }

    static constexpr uint64_t kMemSize = 64 * kMiB;
    GuestMemory mem;
    VmConfig cfg;
    ClockReference clock;
    HostInfo host;
    std::vector<uint8_t> app_file;
    loader::ElfImage elf;
    GuestImage image;
    abi::BootInfo boot{};
};

TEST_F(GuestImageTest, BootInfo) {
    EXPECT_EQ(boot.magic, abi::kBootMagic);
    EXPECT_EQ(boot.abi_version, abi::kAbiVersion);
    EXPECT_EQ(boot.mem_size, kMemSize);
    EXPECT_EQ(boot.pid, 42u);
    // No share has /etc/hosts: the kernel serves one (monitor/etc_files.hpp).
    EXPECT_EQ(boot.flags, uint32_t{abi::kBootTrace | abi::kBootHasFsgsbase | abi::kBootEtcHosts});
    EXPECT_EQ(boot.app_entry, 0x400100u);
    EXPECT_EQ(boot.app_entry, image.app_entry);
    // Frames from kAppMin whatever the app; the file and its arguments at
    // the top of RAM, page aligned, the arguments right after the file.
    EXPECT_EQ(boot.frames_start, abi::kAppMin);
    EXPECT_EQ(boot.image_gpa % abi::kPageSize, 0u);
    EXPECT_EQ(boot.image_gpa, app_image_gpa(kMemSize, app_file.size(), cfg));
    EXPECT_EQ(boot.image_size, app_file.size());
    EXPECT_EQ(boot.args_gpa, boot.image_gpa + ((app_file.size() + 4095) & ~uint64_t{4095}));
    EXPECT_LE(boot.args_gpa + boot.args_size, kMemSize);
    EXPECT_GT(boot.args_gpa + boot.args_size + abi::kPageSize, kMemSize);
    EXPECT_GE(boot.image_gpa, frames_base_bound(kMemSize) + (8ull << 20));
    EXPECT_EQ(boot.hwcap, host.hwcap);
    EXPECT_EQ(boot.console_gpa, abi::kConsoleGpa);
    EXPECT_EQ(boot.console_size, abi::kConsoleDataSize);
    EXPECT_STREQ(boot.exe_path, "/app");
    EXPECT_STREQ(boot.hostname, "testhost");
    EXPECT_EQ(boot.stdio_mode[0], uint32_t{S_IFCHR});
    EXPECT_EQ(boot.stdio_mode[1], uint32_t{S_IFIFO});
    EXPECT_EQ(boot.stdio_mode[2], uint32_t{S_IFREG});
    EXPECT_EQ(boot.device_count, 0u);
}

TEST_F(GuestImageTest, BootClock) {
    EXPECT_EQ(boot.tsc_khz, 2000000u);
    EXPECT_EQ(boot.tsc_base, 12345u);
    EXPECT_EQ(boot.realtime_base_ns, 111u);
    EXPECT_EQ(boot.monotonic_base_ns, 222u);
    // 2 GHz: 0.5 ns per tick.
    EXPECT_EQ(boot.tsc_shift, 32u);
    EXPECT_EQ(boot.tsc_mult, 1ull << 31);
    const uint64_t ticks = 2000000000;  // one second
    EXPECT_EQ((ticks * boot.tsc_mult) >> boot.tsc_shift, 1000000000u);
    bool any = false;
    for (uint8_t b : boot.random_seed)
        any |= b != 0;
    EXPECT_TRUE(any);
}

TEST_F(GuestImageTest, KernelLoaded) {
    auto hdr = mem.read<abi::KernelHeader>(abi::kKernelBase);
    ASSERT_TRUE(hdr);
    EXPECT_EQ(hdr->magic, abi::kKernelMagic);
    EXPECT_EQ(hdr->abi_version, abi::kAbiVersion);
    EXPECT_EQ(hdr->entry, image.kernel_entry);
    EXPECT_EQ(hdr->syscall_entry, image.syscall_entry);
    EXPECT_EQ(hdr->image_end, boot.kernel_end);
    EXPECT_GT(image.kernel_entry, abi::kKernelBase);
    EXPECT_LT(image.kernel_entry, boot.kernel_end);
    EXPECT_GT(image.syscall_entry, abi::kKernelBase);
    EXPECT_LT(image.syscall_entry, boot.kernel_end);
    EXPECT_LE(boot.kernel_end, abi::kKernelLimit);
    EXPECT_EQ(boot.kernel_end % abi::kPageSize, 0u);
}

TEST_F(GuestImageTest, InterruptEntryAndStateInsideTheKernel) {
    auto hdr = mem.read<abi::KernelHeader>(abi::kKernelBase);
    ASSERT_TRUE(hdr);
    EXPECT_EQ(hdr->irq_entry, image.irq.entry);
    EXPECT_EQ(hdr->irq_state, image.irq.state);
    for (uint64_t a : {image.irq.entry, image.irq.tail, image.irq.tail_end, image.irq.state}) {
        EXPECT_GT(a, abi::kKernelBase);
        EXPECT_LT(a, boot.kernel_end);
    }
    // The tail is the handler's last few instructions, after the entry.
    EXPECT_GT(image.irq.tail, image.irq.entry);
    EXPECT_GT(image.irq.tail_end, image.irq.tail);
    EXPECT_LT(image.irq.tail_end - image.irq.tail, 64u);
    EXPECT_EQ(image.irq.stack_top % 16, 0u);
    EXPECT_EQ(mem.read<x86::Tss64>(abi::kTssGpa)->ist[abi::kIrqIst - 1], image.irq.stack_top);
    auto gate = mem.read<x86::IdtGate>(abi::kIdtGpa + (abi::kIrqVectorBase + abi::kIrqDoorbell) * sizeof(x86::IdtGate));
    ASSERT_TRUE(gate);
    EXPECT_EQ(gate->offset_lo | uint64_t{gate->offset_mid} << 16 | uint64_t{gate->offset_hi} << 32, image.irq.entry);
    // The state starts idle: nothing pending, not busy.
    auto st = mem.read<abi::IrqState>(image.irq.state);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->pending, 0u);
    EXPECT_EQ(st->busy, 0u);
    EXPECT_EQ(boot.irq_test_timer_ns, 0u);
    EXPECT_EQ(boot.irq_test_mask_ns, 0u);
}

TEST_F(GuestImageTest, ExecutableFileIsPlacedWholeForTheGuestKernel) {
    // The guest kernel maps the segments itself; the monitor places the file.
    ASSERT_EQ(std::memcmp(mem.host_base() + boot.image_gpa, app_file.data(), app_file.size()), 0);
    const uint64_t end = (app_file.size() + 4095) & ~uint64_t{4095};
    for (uint64_t a = app_file.size(); a < end; a++)
        ASSERT_EQ(*mem.read<uint8_t>(boot.image_gpa + a), 0) << a;  // the last page's tail
}

TEST_F(GuestImageTest, PageTablesAndDescriptors) {
    EXPECT_EQ(image.cr3, abi::kPageTablesGpa);
    EXPECT_FALSE(x86::translate(mem, image.cr3, 0));
    EXPECT_FALSE(x86::translate(mem, image.cr3, 0xfff));
    EXPECT_FALSE(x86::translate(mem, image.cr3, abi::kAppMin));  // user space: the guest kernel's to fill
    for (uint64_t va : {abi::kBootInfoGpa, abi::kKernelBase, image.kernel_entry}) {
        auto pa = x86::translate(mem, image.cr3, va);
        ASSERT_TRUE(pa) << std::hex << va;
        EXPECT_EQ(*pa, va);
    }
    EXPECT_EQ(*x86::translate(mem, image.cr3, abi::kPhysMapBase + kMemSize - 1), kMemSize - 1);
    // int3 reaches the kernel's CPL0 service on its own stack.
    auto gate = mem.read<x86::IdtGate>(abi::kIdtGpa + 3 * sizeof(x86::IdtGate));
    ASSERT_TRUE(gate);
    EXPECT_EQ(gate->ist, abi::kSvcIst);
    EXPECT_EQ(gate->selector, abi::kKernelCs);
    EXPECT_EQ(gate->type_attr, 0xee);  // DPL 3 interrupt gate: no interrupt lands in CPL0 code
    EXPECT_TRUE(*x86::io_port_allowed(mem, abi::kHypercallPortBase));
    EXPECT_FALSE(*x86::io_port_allowed(mem, abi::kFaultPort));
    // Exceptions taken at CPL3 write their frame into the kernel's fault record.
    auto hdr = mem.read<abi::KernelHeader>(abi::kKernelBase);
    ASSERT_TRUE(hdr);
    EXPECT_EQ(mem.read<x86::Tss64>(abi::kTssGpa)->rsp[0], hdr->fault_frame_top);
}

TEST_F(GuestImageTest, ArgumentsArePackedForTheGuestKernel) {
    EXPECT_EQ(boot.argc, 2u);
    EXPECT_EQ(boot.envc, 1u);
    std::string block(reinterpret_cast<const char*>(mem.host_base() + boot.args_gpa), boot.args_size);
    EXPECT_EQ(block, std::string("/app\0x\0A=1\0/app\0", 16));  // argv, envp, AT_EXECFN
}

TEST_F(GuestImageTest, ConsoleRingStartsEmpty) {
    auto ring = mem.read<abi::ConsoleRing>(abi::kConsoleGpa);
    ASSERT_TRUE(ring);
    EXPECT_EQ(ring->head, 0u);
    EXPECT_EQ(ring->tail, 0u);
}

TEST(GuestImage, ExePathOverrideAndFlags) {
    auto m = GuestMemory::create(32 * kMiB);
    ASSERT_TRUE(m);
    VmConfig cfg;
    cfg.app_path = "rel/app";
    cfg.mem_size = 32 * kMiB;
    cfg.stdin_fd = cfg.stdout_fd = cfg.stderr_fd = -1;
    HostInfo host;
    host.exe_path = "/abs/rel/app";
    auto file = make_elf(0x400000);
    auto app = check_app(file, cfg.mem_size, cfg.app_path);
    ASSERT_TRUE(app);
    auto img = build_guest_image(*m, cfg, file, -1, *app, ClockReference{}, host);
    ASSERT_TRUE(img) << img.error().to_string();
    auto boot = *m->read<abi::BootInfo>(abi::kBootInfoGpa);
    EXPECT_STREQ(boot.exe_path, "/abs/rel/app");
    EXPECT_EQ(boot.flags, uint32_t{abi::kBootEtcHosts});
    EXPECT_EQ(boot.tsc_mult, 0u);  // unknown TSC frequency
    // Empty argv: argc 0, AT_EXECFN falls back to the app path.
    EXPECT_EQ(boot.argc, 0u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->host_base() + boot.args_gpa)), "rel/app");
}

}  // namespace
}  // namespace lightvm
