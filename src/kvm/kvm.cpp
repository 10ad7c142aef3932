#include "kvm/kvm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lightvm::kvm {

namespace {

// <linux/kvm.h> declares kvm_cpuid2/kvm_msrs with __DECLARE_FLEX_ARRAY,
// which in C++ puts the entries at offset 12/16 instead of 8 and changes the
// ioctl numbers derived from sizeof. Use the C layout explicitly.
struct CpuidHeader {
    uint32_t nent, padding;
};
struct MsrsHeader {
    uint32_t nmsrs, pad;
};
static_assert(sizeof(kvm_cpuid_entry2) == 40 && sizeof(kvm_msr_entry) == 16);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, sizeof(CpuidHeader));
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, sizeof(MsrsHeader));
constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, sizeof(MsrsHeader));
// struct kvm_xsave ends in a flexible array too (4100 bytes in C++): the C
// size and request numbers are 4096 bytes of region.
constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, Vcpu::kXsaveSize);
constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, Vcpu::kXsaveSize);
static_assert(sizeof(kvm_xsave::region) == Vcpu::kXsaveSize && sizeof(kvm_vcpu_events) == Vcpu::kEventsSize);

// ioctl, retried on EINTR except where the caller wants to see it.
int xioctl(int fd, unsigned long req, auto arg) {
    int r;
    do {
        r = ::ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r;
}

kvm_segment to_kvm(const Segment& s) {
    kvm_segment k{};
    k.base = s.base;
    k.limit = s.limit;
    k.selector = s.selector;
    k.type = s.type;
    k.present = s.present;
    k.dpl = s.dpl;
    k.db = s.db;
    k.s = s.s;
    k.l = s.l;
    k.g = s.g;
    k.avl = s.avl;
    k.unusable = s.present ? 0 : 1;
    return k;
}

Segment from_kvm(const kvm_segment& k) {
    return Segment{k.base, k.limit, k.selector, k.type, k.present, k.dpl, k.db, k.s, k.l, k.g, k.avl};
}

}  // namespace

std::vector<unsigned long> run_loop_ioctls() {
    return {KVM_RUN,          KVM_GET_REGS,  KVM_SET_REGS,  KVM_GET_SREGS,         KVM_SET_SREGS, KVM_SET_USER_MEMORY_REGION,
            KVM_INTERRUPT,    kGetMsrs,      kGetXsave,     KVM_GET_VCPU_EVENTS,
            // A vCPU the guest starts (SMP) is created in the sandbox.
            KVM_CREATE_VCPU,  kSetCpuid2,    kSetMsrs,
            // A live migration's dirty log (migration/sender.hpp).
            KVM_GET_DIRTY_LOG};
}

bool available(const char* path) {
    int fd = ::open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    ::close(fd);
    return true;
}

bool is_pvm() {
    static const bool pvm = ::access("/sys/module/kvm_pvm", F_OK) == 0;
    return pvm;
}

Result<System> System::open(const char* path) {
    System sys;
    sys.m_fd = UniqueFd(::open(path, O_RDWR | O_CLOEXEC));
    if (!sys.m_fd.valid())
        return sys_error(std::string("open ") + path);
    int version = xioctl(sys.m_fd.get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION)
        return make_error(ErrorKind::Unsupported, "KVM_GET_API_VERSION",
                          "unexpected KVM API version " + std::to_string(version));
    int size = xioctl(sys.m_fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0)
        return sys_error("KVM_GET_VCPU_MMAP_SIZE");
    sys.m_run_size = static_cast<size_t>(size);
    return sys;
}

Result<Vm> System::create_vm() {
    Vm vm;
    int fd;
    // KVM_CREATE_VM can fail with EINTR under load; xioctl retries.
    fd = xioctl(m_fd.get(), KVM_CREATE_VM, 0);
    if (fd < 0)
        return sys_error("KVM_CREATE_VM");
    vm.m_fd = UniqueFd(fd);
    vm.m_run_size = m_run_size;
    return vm;
}

Result<void> Vm::set_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host, bool log_dirty) {
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (xioctl(m_fd.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return sys_error("KVM_SET_USER_MEMORY_REGION");
    return {};
}

Result<void> Vm::get_dirty_log(uint32_t slot, std::span<uint64_t> bitmap) {
    kvm_dirty_log log{};
    log.slot = slot;
    log.dirty_bitmap = bitmap.data();
    if (xioctl(m_fd.get(), KVM_GET_DIRTY_LOG, &log) < 0)
        return sys_error("KVM_GET_DIRTY_LOG");
    return {};
}

Result<void> Vm::create_irqchip() {
    if (xioctl(m_fd.get(), KVM_CREATE_IRQCHIP, 0) < 0)
        return sys_error("KVM_CREATE_IRQCHIP");
    return {};
}

Result<Vcpu> Vm::create_vcpu(uint32_t id) {
    Vcpu vcpu;
    int fd = xioctl(m_fd.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
    if (fd < 0)
        return sys_error("KVM_CREATE_VCPU");
    vcpu.m_fd = UniqueFd(fd);
    void* run = ::mmap(nullptr, m_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (run == MAP_FAILED)
        return sys_error("mmap kvm_run");
    vcpu.m_run = run;
    vcpu.m_run_size = m_run_size;
    return vcpu;
}

Vcpu::Vcpu(Vcpu&& o) noexcept
    : m_fd(std::move(o.m_fd)), m_run(std::exchange(o.m_run, nullptr)), m_run_size(std::exchange(o.m_run_size, 0)) {}

Vcpu& Vcpu::operator=(Vcpu&& o) noexcept {
    if (this != &o) {
        if (m_run)
            ::munmap(m_run, m_run_size);
        m_fd = std::move(o.m_fd);
        m_run = std::exchange(o.m_run, nullptr);
        m_run_size = std::exchange(o.m_run_size, 0);
    }
    return *this;
}

Vcpu::~Vcpu() {
    if (m_run)
        ::munmap(m_run, m_run_size);
}

Result<Regs> Vcpu::get_regs() const {
    kvm_regs k{};
    if (xioctl(m_fd.get(), KVM_GET_REGS, &k) < 0)
        return sys_error("KVM_GET_REGS");
    return Regs{k.rax, k.rbx, k.rcx, k.rdx, k.rsi, k.rdi, k.rsp, k.rbp, k.r8,  k.r9,
                k.r10, k.r11, k.r12, k.r13, k.r14, k.r15, k.rip, k.rflags};
}

Result<void> Vcpu::set_regs(const Regs& r) {
    kvm_regs k{r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8,  r.r9,
               r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags};
    if (xioctl(m_fd.get(), KVM_SET_REGS, &k) < 0)
        return sys_error("KVM_SET_REGS");
    return {};
}

Result<Sregs> Vcpu::get_sregs() const {
    kvm_sregs k{};
    if (xioctl(m_fd.get(), KVM_GET_SREGS, &k) < 0)
        return sys_error("KVM_GET_SREGS");
    Sregs s;
    s.cs = from_kvm(k.cs);
    s.ds = from_kvm(k.ds);
    s.es = from_kvm(k.es);
    s.fs = from_kvm(k.fs);
    s.gs = from_kvm(k.gs);
    s.ss = from_kvm(k.ss);
    s.tr = from_kvm(k.tr);
    s.ldt = from_kvm(k.ldt);
    s.gdt = {k.gdt.base, k.gdt.limit};
    s.idt = {k.idt.base, k.idt.limit};
    s.cr0 = k.cr0;
    s.cr2 = k.cr2;
    s.cr3 = k.cr3;
    s.cr4 = k.cr4;
    s.efer = k.efer;
    return s;
}

Result<void> Vcpu::set_sregs(const Sregs& s) {
    kvm_sregs k{};
    k.cs = to_kvm(s.cs);
    k.ds = to_kvm(s.ds);
    k.es = to_kvm(s.es);
    k.fs = to_kvm(s.fs);
    k.gs = to_kvm(s.gs);
    k.ss = to_kvm(s.ss);
    k.tr = to_kvm(s.tr);
    k.ldt = to_kvm(s.ldt);
    k.gdt.base = s.gdt.base;
    k.gdt.limit = s.gdt.limit;
    k.idt.base = s.idt.base;
    k.idt.limit = s.idt.limit;
    k.cr0 = s.cr0;
    k.cr2 = s.cr2;
    k.cr3 = s.cr3;
    k.cr4 = s.cr4;
    k.efer = s.efer;
    if (xioctl(m_fd.get(), KVM_SET_SREGS, &k) < 0)
        return sys_error("KVM_SET_SREGS");
    return {};
}

Result<void> Vcpu::set_msrs(std::span<const Msr> msrs) {
    std::vector<uint8_t> blob(sizeof(MsrsHeader) + msrs.size() * sizeof(kvm_msr_entry));
    reinterpret_cast<MsrsHeader*>(blob.data())->nmsrs = static_cast<uint32_t>(msrs.size());
    auto* entries = reinterpret_cast<kvm_msr_entry*>(blob.data() + sizeof(MsrsHeader));
    for (size_t i = 0; i < msrs.size(); ++i) {
        entries[i].index = msrs[i].index;
        entries[i].data = msrs[i].value;
    }
    int n = xioctl(m_fd.get(), kSetMsrs, blob.data());
    if (n < 0)
        return sys_error("KVM_SET_MSRS");
    if (static_cast<size_t>(n) != msrs.size())
        return make_error(ErrorKind::System, "KVM_SET_MSRS",
                          "MSR 0x" + std::to_string(msrs[static_cast<size_t>(n)].index) + " rejected");
    return {};
}

Result<void> Vcpu::get_msrs(std::span<Msr> msrs) const {
    std::vector<uint8_t> blob(sizeof(MsrsHeader) + msrs.size() * sizeof(kvm_msr_entry));
    reinterpret_cast<MsrsHeader*>(blob.data())->nmsrs = static_cast<uint32_t>(msrs.size());
    auto* entries = reinterpret_cast<kvm_msr_entry*>(blob.data() + sizeof(MsrsHeader));
    for (size_t i = 0; i < msrs.size(); ++i)
        entries[i].index = msrs[i].index;
    int n = xioctl(m_fd.get(), kGetMsrs, blob.data());
    if (n < 0)
        return sys_error("KVM_GET_MSRS");
    if (static_cast<size_t>(n) != msrs.size())
        return make_error(ErrorKind::System, "KVM_GET_MSRS",
                          "MSR 0x" + std::to_string(msrs[static_cast<size_t>(n)].index) + " not readable");
    for (size_t i = 0; i < msrs.size(); ++i)
        msrs[i].value = entries[i].data;
    return {};
}

Result<std::vector<uint8_t>> Vcpu::get_xsave() const {
    std::vector<uint8_t> blob(kXsaveSize);
    if (xioctl(m_fd.get(), kGetXsave, blob.data()) < 0)
        return sys_error("KVM_GET_XSAVE");
    return blob;
}

Result<void> Vcpu::set_xsave(std::span<const uint8_t> blob) {
    if (blob.size() != kXsaveSize)
        return make_error(ErrorKind::BadInput, "KVM_SET_XSAVE", "FPU state of the wrong size");
    std::vector<uint8_t> copy(blob.begin(), blob.end());  // the ioctl takes a non-const pointer
    if (xioctl(m_fd.get(), kSetXsave, copy.data()) < 0)
        return sys_error("KVM_SET_XSAVE");
    return {};
}

Result<std::vector<uint8_t>> Vcpu::get_events() const {
    std::vector<uint8_t> blob(sizeof(kvm_vcpu_events));
    if (xioctl(m_fd.get(), KVM_GET_VCPU_EVENTS, blob.data()) < 0)
        return sys_error("KVM_GET_VCPU_EVENTS");
    return blob;
}

Result<void> Vcpu::set_events(std::span<const uint8_t> blob) {
    if (blob.size() != sizeof(kvm_vcpu_events))
        return make_error(ErrorKind::BadInput, "KVM_SET_VCPU_EVENTS", "event state of the wrong size");
    kvm_vcpu_events ev;
    std::memcpy(&ev, blob.data(), sizeof ev);
    // Only what KVM_GET_VCPU_EVENTS reported as valid is written back.
    if (xioctl(m_fd.get(), KVM_SET_VCPU_EVENTS, &ev) < 0)
        return sys_error("KVM_SET_VCPU_EVENTS");
    return {};
}

Result<void> Vcpu::set_cpuid(std::span<const CpuidEntry> entries) {
    std::vector<uint8_t> blob(sizeof(CpuidHeader) + entries.size() * sizeof(kvm_cpuid_entry2));
    reinterpret_cast<CpuidHeader*>(blob.data())->nent = static_cast<uint32_t>(entries.size());
    auto* out = reinterpret_cast<kvm_cpuid_entry2*>(blob.data() + sizeof(CpuidHeader));
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        out[i].function = e.function;
        out[i].index = e.index;
        out[i].flags = e.index_significant ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
        out[i].eax = e.eax;
        out[i].ebx = e.ebx;
        out[i].ecx = e.ecx;
        out[i].edx = e.edx;
    }
    if (xioctl(m_fd.get(), kSetCpuid2, blob.data()) < 0)
        return sys_error("KVM_SET_CPUID2");
    return {};
}

Result<uint32_t> Vcpu::tsc_khz() const {
    int khz = xioctl(m_fd.get(), KVM_GET_TSC_KHZ, 0);
    if (khz <= 0)
        return sys_error("KVM_GET_TSC_KHZ");
    return static_cast<uint32_t>(khz);
}

void Vcpu::set_immediate_exit(bool on) {
    static_cast<kvm_run*>(m_run)->immediate_exit = on ? 1 : 0;
}

bool Vcpu::interrupt_ready() const {
    const auto* run = static_cast<const kvm_run*>(m_run);
    return run->ready_for_interrupt_injection && run->if_flag;
}

void Vcpu::request_interrupt_window(bool on) {
    static_cast<kvm_run*>(m_run)->request_interrupt_window = on ? 1 : 0;
}

Result<void> Vcpu::inject_interrupt(uint8_t vector) {
    kvm_interrupt irq{};
    irq.irq = vector;
    if (xioctl(m_fd.get(), KVM_INTERRUPT, &irq) < 0)
        return sys_error("KVM_INTERRUPT");
    return {};
}

Result<Exit> Vcpu::run() {
    auto* run = static_cast<kvm_run*>(m_run);
    Exit e;
    // No EINTR retry here: EINTR is how a timeout or signal stops the guest.
    if (::ioctl(m_fd.get(), KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            e.kind = ExitKind::Interrupted;
            return e;
        }
        if (errno == EFAULT) {  // the guest touched RAM the host can no longer back
            e.kind = ExitKind::MemoryFault;
            return e;
        }
        return sys_error("KVM_RUN");
    }
    e.raw_reason = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        e.kind = ExitKind::Io;
        e.io_out = run->io.direction == KVM_EXIT_IO_OUT;
        e.port = run->io.port;
        e.io_size = run->io.size;
        e.io_count = run->io.count;
        // data_offset is written by the kernel, but bound it anyway.
        if (e.io_count == 1 && e.io_size <= 4 && run->io.data_offset + 4 <= m_run_size) {
            uint32_t v = 0;
            std::memcpy(&v, reinterpret_cast<uint8_t*>(run) + run->io.data_offset, e.io_size);
            e.io_value = v;
        }
        break;
    }
    case KVM_EXIT_MMIO:
        e.kind = ExitKind::Mmio;
        e.mmio_addr = run->mmio.phys_addr;
        e.mmio_write = run->mmio.is_write;
        break;
    case KVM_EXIT_HLT:
        e.kind = ExitKind::Hlt;
        break;
    case KVM_EXIT_SHUTDOWN:
        e.kind = ExitKind::Shutdown;
        break;
    case KVM_EXIT_FAIL_ENTRY:
        e.kind = ExitKind::FailEntry;
        e.detail = run->fail_entry.hardware_entry_failure_reason;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        e.kind = ExitKind::InternalError;
        e.detail = run->internal.suberror;
        break;
    case KVM_EXIT_INTR:
        e.kind = ExitKind::Interrupted;
        break;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        e.kind = ExitKind::IrqWindowOpen;
        break;
    default:
        e.kind = ExitKind::Other;
        break;
    }
    return e;
}

}  // namespace lightvm::kvm
