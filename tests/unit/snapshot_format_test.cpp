// The snapshot state file (snapshot/format.hpp, docs/snapshot-format.md):
// everything round-trips, and every corrupt, truncated, foreign or
// mismatched file is refused with one line — never a crash.
#include <gtest/gtest.h>

#include <cstring>

#include "lightvm/abi.h"
#include "snapshot/format.hpp"

namespace lightvm::snapshot {
namespace {

Snapshot sample() {
    Snapshot s;
    s.abi_version = abi::kAbiVersion;
    s.cpu.leaf1_ecx = 0x12345678;
    s.cpu.leaf7_ebx = 0x9;
    s.cpu.xcr0 = 7;
    s.boot_id = "0b7e3c6e-1c1d-4c1e-9c9e-3f3b1a2b4c5d";
    s.saved_monotonic_ns = 123456789;
    s.mem_size = 64ull << 20;
    s.ram_low_end = 16ull << 20;
    s.ram_high_start = 48ull << 20;
    s.mem_tag = 0xfeedface;
    s.irq_entry = 0x2000;
    s.irq_state = 0x3000;
    s.irq_pending = 2;
    s.timer_deadline_ns = 999;
    s.max_procs = 77;
    VcpuState v;
    v.regs.rip = 0x401000;
    v.regs.rsp = 0x7ffff000;
    v.sregs.cs.selector = 0x33;
    v.sregs.cs.l = 1;
    v.sregs.cr3 = 0x5000;
    v.sregs.gdt = {0x6000, 127};
    v.xsave.assign(kvm::Vcpu::kXsaveSize, 0xab);
    v.events.assign(kvm::Vcpu::kEventsSize, 0x01);
    v.msrs = {{kvm::kMsrLstar, 0x1234}, {kvm::kMsrStar, 0x5678}};
    s.vcpus.push_back(v);
    s.shares.push_back({"/srv/data", "/data", true});
    s.handles.push_back({3, 0, true, "dir/file.txt", 2, 4096, {1, 2, 3, 4}});
    s.disks.push_back({"/srv/disk.img", false, {5, 6, 7, 8}});
    s.extents = {{0, 8192}, {16384, 4096}, {48ull << 20, 1ull << 20}};
    return s;
}

// Re-seal bytes after an edit (size and checksum), as a forger would.
void reseal(std::vector<uint8_t>& b) {
    uint64_t total = b.size(), zero = 0;
    std::memcpy(b.data() + 16, &total, 8);
    std::memcpy(b.data() + 24, &zero, 8);
    uint64_t sum = fnv1a(b);
    std::memcpy(b.data() + 24, &sum, 8);
}

std::string decode_error(const std::vector<uint8_t>& b) {
    auto r = decode(b);
    EXPECT_FALSE(r) << "accepted";
    if (r)
        return {};
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_EQ(r.error().to_string().find('\n'), std::string::npos);
    return r.error().message;
}

TEST(SnapshotFormat, RoundTrips) {
    const Snapshot s = sample();
    auto r = decode(encode(s));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->boot_id, s.boot_id);
    EXPECT_EQ(r->mem_size, s.mem_size);
    EXPECT_EQ(r->ram_low_end, s.ram_low_end);
    EXPECT_EQ(r->ram_high_start, s.ram_high_start);
    EXPECT_EQ(r->mem_tag, s.mem_tag);
    EXPECT_EQ(r->irq_pending, 2u);
    EXPECT_EQ(r->timer_deadline_ns, 999u);
    EXPECT_EQ(r->max_procs, 77u);
    EXPECT_EQ(r->cpu.leaf1_ecx, 0x12345678u);
    EXPECT_EQ(r->cpu.xcr0, 7u);
    ASSERT_EQ(r->vcpus.size(), 1u);
    EXPECT_EQ(std::memcmp(&r->vcpus[0].regs, &s.vcpus[0].regs, sizeof(kvm::Regs)), 0);
    EXPECT_EQ(r->vcpus[0].sregs.cs.selector, 0x33);
    EXPECT_EQ(r->vcpus[0].sregs.cs.l, 1);
    EXPECT_EQ(r->vcpus[0].sregs.cr3, 0x5000u);
    EXPECT_EQ(r->vcpus[0].sregs.gdt.limit, 127);
    EXPECT_EQ(r->vcpus[0].xsave, s.vcpus[0].xsave);
    EXPECT_EQ(r->vcpus[0].events, s.vcpus[0].events);
    ASSERT_EQ(r->vcpus[0].msrs.size(), 2u);
    EXPECT_EQ(r->vcpus[0].msrs[0].value, 0x1234u);
    ASSERT_EQ(r->shares.size(), 1u);
    EXPECT_EQ(r->shares[0].guest_path, "/data");
    EXPECT_TRUE(r->shares[0].read_only);
    EXPECT_FALSE(r->shares[0].mapped) << "no share-owners section: every share passes through";
    ASSERT_EQ(r->handles.size(), 1u);
    EXPECT_EQ(r->handles[0].path, "dir/file.txt");
    EXPECT_EQ(r->handles[0].offset, 4096);
    EXPECT_EQ(r->handles[0].id, (FileIdentity{1, 2, 3, 4}));
    ASSERT_EQ(r->disks.size(), 1u);
    EXPECT_EQ(r->disks[0].id, (FileIdentity{5, 6, 7, 8}));
    ASSERT_EQ(r->extents.size(), 3u);
    EXPECT_EQ(r->extents[2].gpa, 48ull << 20);
}

TEST(SnapshotFormat, ForeignFileIsRefused) {
    EXPECT_NE(decode_error({}).find("bad magic"), std::string::npos);
    std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F'};
    elf.resize(64);
    EXPECT_NE(decode_error(elf).find("bad magic"), std::string::npos);
}

TEST(SnapshotFormat, EveryTruncationIsRefused) {
    const auto b = encode(sample());
    for (size_t n = 0; n < b.size(); ++n) {
        std::vector<uint8_t> cut(b.begin(), b.begin() + static_cast<long>(n));
        std::string msg = decode_error(cut);
        EXPECT_FALSE(msg.empty()) << "prefix of " << n;
        if (n >= kHeaderSize) {
            EXPECT_NE(msg.find("truncated"), std::string::npos) << n << ": " << msg;
        }
    }
    auto longer = b;
    longer.push_back(0);
    EXPECT_NE(decode_error(longer).find("trailing data"), std::string::npos);
}

TEST(SnapshotFormat, EveryFlippedByteIsRefused) {
    const auto b = encode(sample());
    for (size_t i = 0; i < b.size(); ++i) {
        auto bad = b;
        bad[i] ^= 0x20;
        EXPECT_FALSE(decode_error(bad).empty()) << "byte " << i;
    }
}

TEST(SnapshotFormat, NewerFormatVersionIsRefused) {
    auto b = encode(sample());
    uint32_t v = kFormatVersion + 1;
    std::memcpy(b.data() + 8, &v, 4);
    reseal(b);
    EXPECT_NE(decode_error(b).find("newer than this lightvm reads"), std::string::npos);
}

TEST(SnapshotFormat, OtherGuestAbiIsRefused) {
    Snapshot s = sample();
    s.abi_version = abi::kAbiVersion + 1;
    EXPECT_NE(decode_error(encode(s)).find("guest ABI"), std::string::npos);
}

TEST(SnapshotFormat, UnknownSectionsAreRefusedUnlessOptional) {
    for (uint32_t tag : {77u, 0x80000077u}) {
        auto b = encode(sample());
        uint32_t hdr[2] = {tag, 0};
        uint64_t len = 3;
        b.insert(b.end(), reinterpret_cast<uint8_t*>(hdr), reinterpret_cast<uint8_t*>(hdr) + 8);
        b.insert(b.end(), reinterpret_cast<uint8_t*>(&len), reinterpret_cast<uint8_t*>(&len) + 8);
        b.insert(b.end(), {1, 2, 3});
        reseal(b);
        auto r = decode(b);
        if (tag & 0x80000000u)
            EXPECT_TRUE(r) << r.error().to_string();  // a newer writer's optional extra
        else
            EXPECT_NE(decode_error(b).find("unknown section 77"), std::string::npos);
    }
}

TEST(SnapshotFormat, InconsistentFieldsAreRefused) {
    Snapshot s = sample();
    s.vcpus.clear();
    EXPECT_NE(decode_error(encode(s)).find("no vCPU state"), std::string::npos);
    s = sample();
    s.extents = {{8192, 4096}, {0, 4096}};  // unsorted
    EXPECT_NE(decode_error(encode(s)).find("memory extent"), std::string::npos);
    s = sample();
    s.extents = {{s.mem_size - 4096, 8192}};  // beyond RAM
    EXPECT_NE(decode_error(encode(s)).find("memory extent"), std::string::npos);
    s = sample();
    s.ram_low_end = s.mem_size * 2;
    EXPECT_NE(decode_error(encode(s)).find("RAM regions"), std::string::npos);
    s = sample();
    s.handles[0].share = 5;
    EXPECT_NE(decode_error(encode(s)).find("unknown share"), std::string::npos);
    s = sample();
    s.vcpus[0].xsave.resize(100);
    EXPECT_NE(decode_error(encode(s)).find("malformed vCPU section"), std::string::npos);
}

// The payload offset of the first section with this tag, or 0.
size_t section_payload(const std::vector<uint8_t>& b, uint32_t tag) {
    for (size_t at = kHeaderSize; at + 16 <= b.size();) {
        uint32_t t;
        uint64_t len;
        std::memcpy(&t, b.data() + at, 4);
        std::memcpy(&len, b.data() + at + 8, 8);
        if (t == tag)
            return at + 16;
        at += 16 + len;
    }
    return 0;
}

// Mapped shares (--fs DIR:GUEST:mapped) are kept in section 7, written
// only when there is one: a file without it reads as before, and a reader
// that predates it refuses the file instead of passing ownership through.
TEST(SnapshotFormat, ShareOwnersRoundTripAndAreChecked) {
    constexpr uint32_t kTagShareOwners = 7;
    EXPECT_EQ(section_payload(encode(sample()), kTagShareOwners), 0u) << "nothing mapped: no section";
    Snapshot s = sample();
    s.shares.push_back({"/srv/mapped", "/m", false, true});
    const auto b = encode(s);
    auto r = decode(b);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->shares.size(), 2u);
    EXPECT_FALSE(r->shares[0].mapped);
    EXPECT_TRUE(r->shares[1].mapped);
    EXPECT_FALSE(r->shares[1].read_only);
    size_t at = section_payload(b, kTagShareOwners);
    ASSERT_NE(at, 0u);
    auto bad = b;
    bad[at + 4 + 1] = 2;  // the second share's model
    reseal(bad);
    EXPECT_NE(decode_error(bad).find("unknown share owner model 2"), std::string::npos);
    bad = b;
    bad[at] = 1;  // a count that is not the shares'
    reseal(bad);
    EXPECT_NE(decode_error(bad).find("share owners do not match the shares"), std::string::npos);
}

// Two vCPUs with --cpus 2 (section 8): a valid guest kernel layout and a
// vCPU 1 with its own interrupt layout, pending sources and flags.
Snapshot two_vcpus() {
    Snapshot s = sample();
    s.irq_entry = 0x200000, s.irq_tail = 0x200100, s.irq_tail_end = 0x200180, s.irq_stack_top = 0x280000,
    s.irq_state = 0x290000;
    s.cpus = 2;
    s.kernel_cr3 = abi::kPageTablesGpa;
    s.kernel_end = 0x300000;
    s.cpu_table = 0x2a0000;
    s.ap_entry = 0x201000;
    s.kernel_max_cpus = 8;
    VcpuMonitor& m0 = s.vcpus[0].mon;
    m0 = {0, kVcpuKicked, s.irq_entry, s.irq_tail, s.irq_tail_end, s.irq_stack_top, s.irq_state, s.irq_pending,
          s.timer_deadline_ns};
    VcpuState v1 = s.vcpus[0];
    v1.regs.rip = 0x402000;
    v1.mon = {1, kVcpuIdle | kVcpuTlb, 0x210000, 0x210100, 0x210180, 0x281000, 0x291000, 4, 12345};
    s.vcpus.push_back(v1);
    return s;
}

TEST(SnapshotFormat, SeveralVcpusRoundTrip) {
    constexpr uint32_t kTagCpus = 8;
    const Snapshot s = two_vcpus();
    const auto b = encode(s);
    ASSERT_NE(section_payload(b, kTagCpus), 0u);
    auto r = decode(b);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->cpus, 2u);
    EXPECT_EQ(r->kernel_cr3, abi::kPageTablesGpa);
    EXPECT_EQ(r->kernel_end, 0x300000u);
    EXPECT_EQ(r->cpu_table, 0x2a0000u);
    EXPECT_EQ(r->ap_entry, 0x201000u);
    EXPECT_EQ(r->kernel_max_cpus, 8u);
    ASSERT_EQ(r->vcpus.size(), 2u);
    EXPECT_EQ(r->vcpus[0].mon.flags, kVcpuKicked);
    EXPECT_EQ(r->vcpus[1].regs.rip, 0x402000u);
    const VcpuMonitor& m = r->vcpus[1].mon;
    EXPECT_EQ(m.id, 1u);
    EXPECT_EQ(m.flags, kVcpuIdle | kVcpuTlb);
    EXPECT_EQ(m.irq_entry, 0x210000u);
    EXPECT_EQ(m.irq_state, 0x291000u);
    EXPECT_EQ(m.irq_pending, 4u);
    EXPECT_EQ(m.timer_deadline_ns, 12345u);
    // --cpus 2 with only vCPU 0 started: the limit is kept all the same.
    Snapshot one = two_vcpus();
    one.vcpus.pop_back();
    auto r1 = decode(encode(one));
    ASSERT_TRUE(r1) << r1.error().to_string();
    EXPECT_EQ(r1->cpus, 2u);
    EXPECT_EQ(r1->vcpus.size(), 1u);
}

// A file of one vCPU and --cpus 1 is what format 1 always was: no section
// 8, and vCPU 0's monitor state is the machine section's. Such snapshots
// (all of them before several vCPUs could be saved) keep loading.
TEST(SnapshotFormat, OneVcpuFilesAreUnchangedAndLoad) {
    constexpr uint32_t kTagCpus = 8;
    const Snapshot s = sample();
    const auto b = encode(s);
    EXPECT_EQ(section_payload(b, kTagCpus), 0u);
    uint32_t version;
    std::memcpy(&version, b.data() + 8, 4);
    EXPECT_EQ(version, 1u) << "section 8 is an addition, not a new encoding";
    auto r = decode(b);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->cpus, 1u);
    ASSERT_EQ(r->vcpus.size(), 1u);
    const VcpuMonitor& m = r->vcpus[0].mon;
    EXPECT_EQ(m.id, 0u);
    EXPECT_EQ(m.flags, 0u);
    EXPECT_EQ(m.irq_entry, s.irq_entry);
    EXPECT_EQ(m.irq_state, s.irq_state);
    EXPECT_EQ(m.irq_pending, s.irq_pending);
    EXPECT_EQ(m.timer_deadline_ns, s.timer_deadline_ns);
}

TEST(SnapshotFormat, BadVcpuTablesAreRefused) {
    auto refused = [](Snapshot s, const char* what) {
        EXPECT_NE(decode_error(encode(s)).find(what), std::string::npos) << what;
    };
    Snapshot s = two_vcpus();
    s.vcpus[1].mon.flags = 0x80;
    refused(s, "vCPU 1: unknown flags");
    s = two_vcpus();
    s.vcpus[1].mon.id = 0;
    refused(s, "vCPU table out of order");
    s = two_vcpus();
    s.vcpus[1].mon.id = 2;  // beyond --cpus 2
    refused(s, "beyond the limit");
    s = two_vcpus();
    s.vcpus[1].mon.irq_entry = 0x1000;  // outside the kernel
    refused(s, "vCPU 1: bad interrupt layout");
    s = two_vcpus();
    s.vcpus[1].mon.irq_state = s.kernel_end - 8;  // IrqState would cross the end
    refused(s, "vCPU 1: bad interrupt layout");
    s = two_vcpus();
    s.vcpus[1].mon.irq_pending = 1ull << 40;
    refused(s, "vCPU 1: bad interrupt layout");
    s = two_vcpus();
    s.vcpus[0].mon.irq_pending = 7;
    refused(s, "vCPU 0 in the vCPU table differs from the machine section");
    s = two_vcpus();
    s.cpus = abi::kMaxCpus + 1;
    refused(s, "vCPU limit 9 out of range");
    s = two_vcpus();
    s.cpus = 1;
    refused(s, "2 vCPUs saved, more than the limit of 1");
    s = two_vcpus();
    s.cpu_table = s.kernel_end - 8;
    refused(s, "bad guest kernel layout");
    s = two_vcpus();
    s.kernel_cr3 = 0x1000;
    refused(s, "bad guest kernel layout");
    // Two vCPU sections without the table (a forged or pre-table file).
    auto b = encode(two_vcpus());
    size_t at = section_payload(b, 8);
    ASSERT_NE(at, 0u);
    uint64_t len;
    std::memcpy(&len, b.data() + at - 8, 8);
    b.erase(b.begin() + static_cast<long>(at - 16), b.begin() + static_cast<long>(at + len));
    reseal(b);
    EXPECT_NE(decode_error(b).find("2 vCPU sections but no vCPU table"), std::string::npos);
    // A table whose count is not the vCPU sections'.
    b = encode(two_vcpus());
    at = section_payload(b, 8);
    b[at + 4 + 5 * 8 + 4] = 3;
    reseal(b);
    EXPECT_NE(decode_error(b).find("malformed vCPU table section"), std::string::npos);
}

TEST(SnapshotFormat, MissingCpuFeaturesAreNamed) {
    CpuFeatures have, need;
    have.leaf7_ebx = 0b1011;
    need.leaf7_ebx = 0b0011;
    EXPECT_EQ(missing_features(need, have), "");
    need.leaf7_ebx = 0b0111;
    EXPECT_EQ(missing_features(need, have), "CPUID.7:EBX bits 0x4");
    need = {};
    need.xcr0 = 0xe7;
    have.xcr0 = 0x7;
    EXPECT_EQ(missing_features(need, have), "XCR0 bits 0xe0");
    // This host offers what it reports.
    EXPECT_EQ(missing_features(host_cpu_features(), host_cpu_features()), "");
}

// Section 9: written when the save recorded the clock, read back, and
// optional (a reader without it skips it); two of them are refused.
TEST(SnapshotFormat, ClockSectionRoundTripsAndIsOptional) {
    Snapshot s = sample();
    auto plain = decode(encode(s));
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->has_clock);
    s.has_clock = true;
    s.saved_realtime_ns = 1700000000123456789ull;
    s.guest_since_ns = 40ull * 24 * 3600 * 1000000000;
    const auto bytes = encode(s);
    auto r = decode(bytes);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->has_clock);
    EXPECT_EQ(r->saved_realtime_ns, s.saved_realtime_ns);
    EXPECT_EQ(r->guest_since_ns, s.guest_since_ns);
    EXPECT_EQ(encode(s).size(), encode(sample()).size() + 16 + 16) << "one section: header and two fields";
    // Its tag has the optional bit: a copy of it under an unknown optional
    // number is skipped; a second one under its own is refused.
    std::vector<uint8_t> twice = bytes;
    uint32_t tag = 0;
    size_t at = kHeaderSize;
    for (;;) {  // find section 9
        ASSERT_LT(at + 16, twice.size());
        std::memcpy(&tag, twice.data() + at, 4);
        uint64_t len;
        std::memcpy(&len, twice.data() + at + 8, 8);
        if (tag == (0x80000000u | 9))
            break;
        at += 16 + len;
    }
    EXPECT_EQ(tag & 0x80000000u, 0x80000000u);
    std::vector<uint8_t> clock(twice.begin() + static_cast<long>(at), twice.begin() + static_cast<long>(at + 32));
    twice.insert(twice.begin() + static_cast<long>(at), clock.begin(), clock.end());
    reseal(twice);
    EXPECT_NE(decode_error(twice).find("two clock sections"), std::string::npos);
    std::vector<uint8_t> unknown = bytes;
    const uint32_t other = 0x80000000u | 77;
    std::memcpy(unknown.data() + at, &other, 4);
    reseal(unknown);
    auto skipped = decode(unknown);
    ASSERT_TRUE(skipped) << skipped.error().to_string();
    EXPECT_FALSE(skipped->has_clock);
}

}  // namespace
}  // namespace lightvm::snapshot
