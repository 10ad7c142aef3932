#include "snapshot/format.hpp"

#include <cpuid.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lightvm/abi.h"

namespace lightvm::snapshot {

namespace {

// Section tags. Bit 31 set: optional, a reader that does not know it skips
// it; any other unknown tag is refused (the file needs something we lack).
enum Tag : uint32_t {
    kTagMachine = 1,
    kTagVcpu = 2,  // one per vCPU, in vCPU id order
    kTagShares = 3,
    kTagHandles = 4,
    kTagDisks = 5,
    kTagMemory = 6,
    // After the shares, only when one is mapped: a reader from before the
    // mapped model refuses the file rather than pass ownership through.
    kTagShareOwners = 7,
    // Only with --cpus > 1: a reader from before it refuses the file (it
    // would restore a VM allowed several vCPUs on one, or lose a started one).
    kTagCpus = 8,
    kTagOptional = 0x80000000u,
    // The clock at save (Snapshot::has_clock). Optional: a reader without it
    // still restores the file in the boot that made it.
    kTagClock = kTagOptional | 9,
};

constexpr size_t kMaxItems = 1u << 16;  // per table: far above any real VM
constexpr size_t kMaxVcpus = 256;

class Writer {
public:
    void u8(uint8_t v) { m_out.push_back(v); }
    void u32(uint32_t v) { raw(&v, 4); }
    void u64(uint64_t v) { raw(&v, 8); }
    void bytes(std::span<const uint8_t> b) {
        u32(static_cast<uint32_t>(b.size()));
        m_out.insert(m_out.end(), b.begin(), b.end());
    }
    void str(const std::string& s) { bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
    void raw(const void* p, size_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        m_out.insert(m_out.end(), b, b + n);
    }
    // A section: tag, reserved, length, then what `body` writes.
    template <class F>
    void section(uint32_t tag, F&& body) {
        u32(tag);
        u32(0);
        size_t len_at = m_out.size();
        u64(0);
        size_t start = m_out.size();
        body();
        uint64_t len = m_out.size() - start;
        std::memcpy(m_out.data() + len_at, &len, 8);
    }
    std::vector<uint8_t>& out() { return m_out; }

private:
    std::vector<uint8_t> m_out;
};

// Reads what Writer wrote; every read is bounds-checked and a short or
// malformed field becomes one error naming the section.
class Reader {
public:
    Reader(std::span<const uint8_t> b, const char* what) : m_b(b), m_what(what) {}
    bool ok() const { return m_ok; }
    bool done() const { return m_pos == m_b.size(); }
    const char* what() const { return m_what; }
    uint8_t u8() {
        uint8_t v = 0;
        raw(&v, 1);
        return v;
    }
    uint32_t u32() {
        uint32_t v = 0;
        raw(&v, 4);
        return v;
    }
    uint64_t u64() {
        uint64_t v = 0;
        raw(&v, 8);
        return v;
    }
    std::vector<uint8_t> bytes(size_t max) {
        uint32_t n = u32();
        if (!m_ok || n > max || n > m_b.size() - m_pos) {
            m_ok = false;
            return {};
        }
        std::vector<uint8_t> v(m_b.begin() + static_cast<long>(m_pos), m_b.begin() + static_cast<long>(m_pos + n));
        m_pos += n;
        return v;
    }
    std::string str() {
        auto b = bytes(4096);
        std::string s(b.begin(), b.end());
        if (s.find('\0') != std::string::npos)
            m_ok = false;
        return s;
    }
    void raw(void* p, size_t n) {
        if (!m_ok || n > m_b.size() - m_pos) {
            m_ok = false;
            std::memset(p, 0, n);
            return;
        }
        std::memcpy(p, m_b.data() + m_pos, n);
        m_pos += n;
    }
    size_t count(size_t max) {
        uint32_t n = u32();
        if (n > max)
            m_ok = false;
        return m_ok ? n : 0;
    }
    void fail() { m_ok = false; }

private:
    std::span<const uint8_t> m_b;
    const char* m_what;
    size_t m_pos = 0;
    bool m_ok = true;
};

tl::unexpected<Error> bad(const std::string& msg) { return make_error(ErrorKind::BadInput, "snapshot", msg); }

void put_segment(Writer& w, const kvm::Segment& s) {
    w.u64(s.base);
    w.u32(s.limit);
    w.u32(s.selector);
    const uint8_t f[8] = {s.type, s.present, s.dpl, s.db, s.s, s.l, s.g, s.avl};
    w.raw(f, 8);
}
kvm::Segment get_segment(Reader& r) {
    kvm::Segment s;
    s.base = r.u64();
    s.limit = r.u32();
    s.selector = static_cast<uint16_t>(r.u32());
    uint8_t f[8];
    r.raw(f, 8);
    s.type = f[0], s.present = f[1], s.dpl = f[2], s.db = f[3], s.s = f[4], s.l = f[5], s.g = f[6], s.avl = f[7];
    return s;
}

void put_id(Writer& w, const FileIdentity& id) {
    w.u64(id.dev);
    w.u64(id.ino);
    w.u64(id.size);
    w.u64(static_cast<uint64_t>(id.mtime_ns));
}
FileIdentity get_id(Reader& r) {
    FileIdentity id;
    id.dev = r.u64();
    id.ino = r.u64();
    id.size = r.u64();
    id.mtime_ns = static_cast<int64_t>(r.u64());
    return id;
}

void put_machine(Writer& w, const Snapshot& s) {
    w.u32(s.abi_version);
    const CpuFeatures& c = s.cpu;
    for (uint32_t v : {c.leaf1_ecx, c.leaf1_edx, c.leaf7_ebx, c.leaf7_ecx, c.leaf7_edx, c.ext1_ecx, c.ext1_edx})
        w.u32(v);
    w.u64(c.xcr0);
    w.str(s.boot_id);
    for (uint64_t v : {s.saved_monotonic_ns, s.mem_size, s.ram_low_end, s.ram_high_start, s.mem_tag, s.irq_entry,
                       s.irq_tail, s.irq_tail_end, s.irq_stack_top, s.irq_state, s.irq_pending, s.timer_deadline_ns})
        w.u64(v);
    w.u32(s.max_procs);
}
void get_machine(Reader& r, Snapshot& s) {
    s.abi_version = r.u32();
    CpuFeatures& c = s.cpu;
    for (uint32_t* v : {&c.leaf1_ecx, &c.leaf1_edx, &c.leaf7_ebx, &c.leaf7_ecx, &c.leaf7_edx, &c.ext1_ecx, &c.ext1_edx})
        *v = r.u32();
    c.xcr0 = r.u64();
    s.boot_id = r.str();
    for (uint64_t* v : {&s.saved_monotonic_ns, &s.mem_size, &s.ram_low_end, &s.ram_high_start, &s.mem_tag, &s.irq_entry,
                        &s.irq_tail, &s.irq_tail_end, &s.irq_stack_top, &s.irq_state, &s.irq_pending,
                        &s.timer_deadline_ns})
        *v = r.u64();
    s.max_procs = r.u32();
}

void put_vcpu(Writer& w, const VcpuState& v) {
    w.raw(&v.regs, sizeof v.regs);
    const kvm::Sregs& s = v.sregs;
    for (const kvm::Segment* seg : {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt})
        put_segment(w, *seg);
    for (const kvm::DescriptorTable* t : {&s.gdt, &s.idt}) {
        w.u64(t->base);
        w.u32(t->limit);
    }
    for (uint64_t cr : {s.cr0, s.cr2, s.cr3, s.cr4, s.efer})
        w.u64(cr);
    w.bytes(v.xsave);
    w.bytes(v.events);
    w.u32(static_cast<uint32_t>(v.msrs.size()));
    for (const auto& m : v.msrs) {
        w.u32(m.index);
        w.u64(m.value);
    }
}
VcpuState get_vcpu(Reader& r) {
    static_assert(sizeof(kvm::Regs) == 18 * 8);
    VcpuState v;
    r.raw(&v.regs, sizeof v.regs);
    kvm::Sregs& s = v.sregs;
    for (kvm::Segment* seg : {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt})
        *seg = get_segment(r);
    for (kvm::DescriptorTable* t : {&s.gdt, &s.idt}) {
        t->base = r.u64();
        t->limit = static_cast<uint16_t>(r.u32());
    }
    for (uint64_t* cr : {&s.cr0, &s.cr2, &s.cr3, &s.cr4, &s.efer})
        *cr = r.u64();
    v.xsave = r.bytes(kvm::Vcpu::kXsaveSize);
    v.events = r.bytes(kvm::Vcpu::kEventsSize);
    if (v.xsave.size() != kvm::Vcpu::kXsaveSize || v.events.size() != kvm::Vcpu::kEventsSize)
        r.fail();
    size_t n = r.count(64);
    for (size_t i = 0; i < n && r.ok(); ++i) {
        kvm::Msr m;
        m.index = r.u32();
        m.value = r.u64();
        v.msrs.push_back(m);
    }
    return v;
}

void put_cpus(Writer& w, const Snapshot& s) {
    w.u32(s.cpus);
    for (uint64_t v : {s.kernel_cr3, s.kernel_end, s.cpu_table, s.ap_entry, s.trap_vectors})
        w.u64(v);
    w.u32(s.kernel_max_cpus);
    w.u32(static_cast<uint32_t>(s.vcpus.size()));
    for (const auto& v : s.vcpus) {
        const VcpuMonitor& m = v.mon;
        w.u32(m.id);
        w.u32(m.flags);
        for (uint64_t x : {m.irq_entry, m.irq_tail, m.irq_tail_end, m.irq_stack_top, m.irq_state, m.irq_pending,
                           m.timer_deadline_ns})
            w.u64(x);
    }
}
// Section 8 comes after every vCPU section: its table fills their `mon`.
void get_cpus(Reader& r, Snapshot& s) {
    s.cpus = r.u32();
    for (uint64_t* v : {&s.kernel_cr3, &s.kernel_end, &s.cpu_table, &s.ap_entry, &s.trap_vectors})
        *v = r.u64();
    s.kernel_max_cpus = r.u32();
    if (r.count(kMaxVcpus) != s.vcpus.size()) {
        r.fail();
        return;
    }
    for (auto& v : s.vcpus) {
        VcpuMonitor& m = v.mon;
        m.id = r.u32();
        m.flags = r.u32();
        for (uint64_t* x : {&m.irq_entry, &m.irq_tail, &m.irq_tail_end, &m.irq_stack_top, &m.irq_state,
                            &m.irq_pending, &m.timer_deadline_ns})
            *x = r.u64();
    }
}

void put_body(Writer& w, const Snapshot& s) {
    w.section(kTagMachine, [&] { put_machine(w, s); });
    for (const auto& v : s.vcpus)
        w.section(kTagVcpu, [&] { put_vcpu(w, v); });
    if (s.cpus > 1 || s.vcpus.size() > 1)
        w.section(kTagCpus, [&] { put_cpus(w, s); });
    w.section(kTagShares, [&] {
        w.u32(static_cast<uint32_t>(s.shares.size()));
        for (const auto& sh : s.shares) {
            w.str(sh.host_path);
            w.str(sh.guest_path);
            w.u8(sh.read_only);
        }
    });
    if (std::any_of(s.shares.begin(), s.shares.end(), [](const ShareState& sh) { return sh.mapped; }))
        w.section(kTagShareOwners, [&] {
            w.u32(static_cast<uint32_t>(s.shares.size()));
            for (const auto& sh : s.shares)
                w.u8(sh.mapped ? 1 : 0);
        });
    w.section(kTagHandles, [&] {
        w.u32(static_cast<uint32_t>(s.handles.size()));
        for (const auto& h : s.handles) {
            w.u32(h.index);
            w.u32(h.share);
            w.u8(h.read_only);
            w.str(h.path);
            w.u32(h.flags);
            w.u64(static_cast<uint64_t>(h.offset));
            put_id(w, h.id);
        }
    });
    w.section(kTagDisks, [&] {
        w.u32(static_cast<uint32_t>(s.disks.size()));
        for (const auto& d : s.disks) {
            w.str(d.path);
            w.u8(d.read_only);
            put_id(w, d.id);
        }
    });
    if (s.has_clock)
        w.section(kTagClock, [&] {
            w.u64(s.saved_realtime_ns);
            w.u64(s.guest_since_ns);
        });
    w.section(kTagMemory, [&] {
        w.u32(static_cast<uint32_t>(s.extents.size()));
        for (const auto& e : s.extents) {
            w.u64(e.gpa);
            w.u64(e.len);
        }
    });
}

struct Seen {
    bool machine = false, memory = false, cpus = false;
};

Result<void> get_section(uint32_t tag, Reader& r, Snapshot& s, Seen& seen) {
    switch (tag) {
    case kTagMachine:
        if (seen.machine)
            return bad("two machine sections");
        seen.machine = true;
        get_machine(r, s);
        break;
    case kTagVcpu:
        if (s.vcpus.size() >= kMaxVcpus)
            return bad("too many vCPUs");
        if (seen.cpus)
            return bad("a vCPU section after the vCPU table");
        s.vcpus.push_back(get_vcpu(r));
        break;
    case kTagCpus:
        if (seen.cpus)
            return bad("two vCPU tables");
        seen.cpus = true;
        get_cpus(r, s);
        break;
    case kTagShares:
        for (size_t i = 0, n = r.count(abi::kMaxMounts); i < n && r.ok(); ++i) {
            ShareState sh;
            sh.host_path = r.str();
            sh.guest_path = r.str();
            sh.read_only = r.u8() != 0;
            s.shares.push_back(std::move(sh));
        }
        break;
    case kTagShareOwners:
        if (r.count(abi::kMaxMounts) != s.shares.size())
            return bad("share owners do not match the shares");
        for (auto& sh : s.shares) {
            uint8_t owner = r.u8();
            if (owner > 1)
                return bad("unknown share owner model " + std::to_string(owner));
            sh.mapped = owner == 1;
        }
        break;
    case kTagHandles:
        for (size_t i = 0, n = r.count(kMaxItems); i < n && r.ok(); ++i) {
            HandleState h;
            h.index = r.u32();
            h.share = r.u32();
            h.read_only = r.u8() != 0;
            h.path = r.str();
            h.flags = r.u32();
            h.offset = static_cast<int64_t>(r.u64());
            h.id = get_id(r);
            s.handles.push_back(std::move(h));
        }
        break;
    case kTagDisks:
        for (size_t i = 0, n = r.count(64); i < n && r.ok(); ++i) {
            DiskState d;
            d.path = r.str();
            d.read_only = r.u8() != 0;
            d.id = get_id(r);
            s.disks.push_back(std::move(d));
        }
        break;
    case kTagClock:
        if (s.has_clock)
            return bad("two clock sections");
        s.has_clock = true;
        s.saved_realtime_ns = r.u64();
        s.guest_since_ns = r.u64();
        break;
    case kTagMemory:
        seen.memory = true;
        for (size_t i = 0, n = r.count(1u << 24); i < n && r.ok(); ++i) {
            MemExtent e;
            e.gpa = r.u64();
            e.len = r.u64();
            s.extents.push_back(e);
        }
        break;
    default:
        if (!(tag & kTagOptional))
            return bad("unknown section " + std::to_string(tag) + " (made by a newer lightvm?)");
        return {};
    }
    if (!r.ok() || !r.done())
        return bad(std::string("malformed ") + r.what() + " section");
    return {};
}

const char* tag_name(uint32_t tag) {
    switch (tag) {
    case kTagMachine: return "machine";
    case kTagVcpu: return "vCPU";
    case kTagShares: return "shares";
    case kTagShareOwners: return "share owners";
    case kTagHandles: return "open files";
    case kTagDisks: return "disks";
    case kTagMemory: return "memory";
    case kTagCpus: return "vCPU table";
    case kTagClock: return "clock";
    default: return "unknown";
    }
}

// A guest kernel address the monitor will write into a gate, a TSS or a
// register, or read state at: inside the snapshot's kernel image.
bool in_kernel(const Snapshot& s, uint64_t a) { return a >= abi::kKernelBase && a < s.kernel_end; }

// Section 8: the vCPUs and the kernel fields a restore starts vCPUs with.
Result<void> check_cpus(const Snapshot& s) {
    if (s.cpus < 1 || s.cpus > abi::kMaxCpus)
        return bad("vCPU limit " + std::to_string(s.cpus) + " out of range (1 to " + std::to_string(abi::kMaxCpus) + ")");
    if (s.vcpus.size() > s.cpus)
        return bad(std::to_string(s.vcpus.size()) + " vCPUs saved, more than the limit of " + std::to_string(s.cpus));
    if (s.kernel_max_cpus < 1 || s.kernel_max_cpus > abi::kMaxCpus)
        return bad("the guest kernel supports " + std::to_string(s.kernel_max_cpus) + " vCPUs");
    if (s.kernel_end <= abi::kKernelBase || s.kernel_end > s.mem_size || !in_kernel(s, s.ap_entry) ||
        s.kernel_cr3 < abi::kPageTablesGpa || s.kernel_cr3 >= abi::kPageTablesEnd || s.kernel_cr3 % abi::kPageSize ||
        !in_kernel(s, s.cpu_table) ||
        s.cpu_table + uint64_t{s.kernel_max_cpus} * sizeof(abi::CpuEntries) > s.kernel_end ||
        (s.trap_vectors & ~abi::kTrapVectorsAllowed))
        return bad("bad guest kernel layout in the vCPU table");
    for (size_t i = 0; i < s.vcpus.size(); ++i) {
        const VcpuMonitor& m = s.vcpus[i].mon;
        const std::string who = "vCPU " + std::to_string(m.id);
        if ((i == 0 && m.id != 0) || (i > 0 && m.id <= s.vcpus[i - 1].mon.id) || m.id >= s.cpus ||
            m.id >= s.kernel_max_cpus)
            return bad("vCPU table out of order or beyond the limit (" + who + ")");
        if (m.flags & ~kVcpuFlags)
            return bad(who + ": unknown flags");
        if (!in_kernel(s, m.irq_entry) || !in_kernel(s, m.irq_tail) || m.irq_tail_end <= m.irq_tail ||
            m.irq_tail_end > s.kernel_end || !in_kernel(s, m.irq_stack_top) || m.irq_stack_top % 16 ||
            !in_kernel(s, m.irq_state) || m.irq_state + sizeof(abi::IrqState) > s.kernel_end ||
            (m.irq_pending >> abi::kIrqSources))
            return bad(who + ": bad interrupt layout");
    }
    const VcpuMonitor& m0 = s.vcpus[0].mon;
    if (m0.irq_entry != s.irq_entry || m0.irq_tail != s.irq_tail || m0.irq_tail_end != s.irq_tail_end ||
        m0.irq_stack_top != s.irq_stack_top || m0.irq_state != s.irq_state || m0.irq_pending != s.irq_pending ||
        m0.timer_deadline_ns != s.timer_deadline_ns)
        return bad("vCPU 0 in the vCPU table differs from the machine section");
    return {};
}

// Field ranges that the rest of lightvm relies on.
Result<void> check(const Snapshot& s, bool have_cpus) {
    if (s.vcpus.empty())
        return bad("no vCPU state");
    if (!have_cpus && s.vcpus.size() > 1)
        return bad(std::to_string(s.vcpus.size()) + " vCPU sections but no vCPU table");
    if (have_cpus)
        TRY(check_cpus(s));
    if (s.mem_size == 0 || s.mem_size % abi::kHugePageSize)
        return bad("bad guest memory size");
    if (s.ram_low_end > s.ram_high_start || s.ram_high_start > s.mem_size)
        return bad("bad RAM regions");
    uint64_t end = 0;
    for (const auto& e : s.extents) {
        if (e.len == 0 || (e.gpa | e.len) & 4095 || e.gpa < end || e.gpa > s.mem_size || e.len > s.mem_size - e.gpa)
            return bad("bad memory extent table");
        end = e.gpa + e.len;
    }
    for (const auto& h : s.handles)
        if (h.share >= s.shares.size())
            return bad("open file in an unknown share");
    return {};
}

}  // namespace

uint64_t fnv1a(std::span<const uint8_t> bytes, uint64_t h) {
    for (uint8_t b : bytes) {
        h ^= b;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string host_boot_id() {
    // Tests make a process (a source lightvmd) claim another boot, so that a
    // restore on this host takes the path of one in another boot
    // (docs/snapshot-format.md, "Clocks"). Harmless otherwise: that path
    // is also right in the same boot.
    if (const char* claimed = std::getenv("LIGHTVM_TEST_BOOT_ID"); claimed && *claimed)
        return claimed;
    char buf[64] = {};
    FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "re");
    if (!f)
        return {};
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    std::string id(buf, n);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' '))
        id.pop_back();
    return id;
}

CpuFeatures host_cpu_features() {
    CpuFeatures f;
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        // Bits that describe this CPU's state, not its abilities (APIC id,
        // OSXSAVE follows CR4) are left out of the comparison.
        f.leaf1_ecx = c & ~(1u << 27);
        f.leaf1_edx = d;
        if (c & (1u << 27)) {
            uint32_t lo, hi;
            asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            f.xcr0 = (uint64_t(hi) << 32) | lo;
        }
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f.leaf7_ebx = b;
        f.leaf7_ecx = c & ~(1u << 4);  // OSPKE follows CR4 too
        f.leaf7_edx = d;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
        f.ext1_ecx = c;
        f.ext1_edx = d;
    }
    return f;
}

std::string missing_features(const CpuFeatures& need, const CpuFeatures& have) {
    struct Reg {
        const char* name;
        uint64_t need, have;
    } regs[] = {
        {"CPUID.1:ECX", need.leaf1_ecx, have.leaf1_ecx}, {"CPUID.1:EDX", need.leaf1_edx, have.leaf1_edx},
        {"CPUID.7:EBX", need.leaf7_ebx, have.leaf7_ebx}, {"CPUID.7:ECX", need.leaf7_ecx, have.leaf7_ecx},
        {"CPUID.7:EDX", need.leaf7_edx, have.leaf7_edx}, {"CPUID.80000001:ECX", need.ext1_ecx, have.ext1_ecx},
        {"CPUID.80000001:EDX", need.ext1_edx, have.ext1_edx}, {"XCR0", need.xcr0, have.xcr0},
    };
    for (const auto& r : regs)
        if (uint64_t lack = r.need & ~r.have) {
            char hex[24];
            std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(lack));
            return std::string(r.name) + " bits " + hex;
        }
    return {};
}

std::vector<uint8_t> encode(const Snapshot& snap) {
    Writer w;
    w.raw(kMagic, sizeof kMagic);
    w.u32(kFormatVersion);
    w.u32(static_cast<uint32_t>(kHeaderSize));
    w.u64(0);  // total size
    w.u64(0);  // checksum
    put_body(w, snap);
    auto& out = w.out();
    const uint64_t total = out.size();
    std::memcpy(out.data() + 16, &total, 8);
    const uint64_t sum = fnv1a(out);  // with the checksum field still 0
    std::memcpy(out.data() + 24, &sum, 8);
    return std::move(out);
}

Result<Snapshot> decode(std::span<const uint8_t> bytes) {
    if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        return bad("not a lightvm snapshot (bad magic)");
    uint32_t version, header_size;
    uint64_t total, sum;
    std::memcpy(&version, bytes.data() + 8, 4);
    std::memcpy(&header_size, bytes.data() + 12, 4);
    std::memcpy(&total, bytes.data() + 16, 8);
    std::memcpy(&sum, bytes.data() + 24, 8);
    if (version == 0 || version > kFormatVersion)
        return bad("format version " + std::to_string(version) + " is newer than this lightvm reads (" +
                   std::to_string(kFormatVersion) + ")");
    if (header_size != kHeaderSize)
        return bad("bad header size");
    if (total > bytes.size())
        return bad("truncated (" + std::to_string(bytes.size()) + " of " + std::to_string(total) + " bytes)");
    if (total < bytes.size())
        return bad("trailing data after the snapshot");
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    std::memset(copy.data() + 24, 0, 8);
    if (fnv1a(copy) != sum)
        return bad("checksum mismatch (the file is corrupt)");

    Snapshot s;
    Seen seen;
    Reader sections(bytes.subspan(kHeaderSize), "section");
    while (!sections.done()) {
        uint32_t tag = sections.u32();
        (void)sections.u32();
        uint64_t len = sections.u64();
        if (!sections.ok())
            return bad("malformed section header");
        std::vector<uint8_t> body(len <= kMaxStateSize ? len : 0);
        if (len > kMaxStateSize)
            return bad("malformed section header");
        sections.raw(body.data(), body.size());
        if (!sections.ok())
            return bad("malformed section header");
        Reader r(body, tag_name(tag));
        TRY(get_section(tag, r, s, seen));
    }
    if (!seen.machine || !seen.memory)
        return bad(std::string("no ") + (seen.machine ? "memory" : "machine") + " section");
    if (s.abi_version != abi::kAbiVersion)
        return bad("made for guest ABI " + std::to_string(s.abi_version) + ", this lightvm speaks " +
                   std::to_string(abi::kAbiVersion));
    TRY(check(s, seen.cpus));
    if (!seen.cpus) {  // one vCPU, and its monitor state is the machine's (format 1 before section 8)
        s.cpus = 1;
        VcpuMonitor& m = s.vcpus[0].mon;
        m = VcpuMonitor{0,           0,           s.irq_entry,   s.irq_tail, s.irq_tail_end, s.irq_stack_top,
                        s.irq_state, s.irq_pending, s.timer_deadline_ns};
    }
    return s;
}

}  // namespace lightvm::snapshot
