// Build-time tool: compiles the monitor's seccomp allow-list with libseccomp
// into a classic-BPF program and writes it as a C++ header. Compiling the
// filter at run time costs ~250 us per VM start (measured); loading a
// precompiled program costs a few microseconds.
//
// THE ALLOW-LIST. Every system call the monitor makes after setup, i.e. in
// the vCPU loop, the devices, the final report and fast_exit, and nothing
// else. Adding a line here is a security review: docs/security.md lists
// them with the reason, and tests/unit/sandbox_test.cpp fails when this
// list and the documented one differ.
//
// usage: lightvm-filter-gen OUT.inc
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kvm/kvm.hpp"
#include "sandbox/allow_list.hpp"

namespace {

using lightvm::sandbox::kAllowed;

int fail(const char* what, int rc) {
    std::fprintf(stderr, "lightvm-filter-gen: %s failed (%d)\n", what, rc);
    return 1;
}

// x86-64 calls newer than the libseccomp the build has (2.5 knows no
// getxattrat): by number, which libseccomp takes as it is.
struct Newer {
    const char* name;
    int nr;
};
constexpr Newer kNewer[] = {{"getxattrat", 464}};

int resolve(const char* name) {
    int nr = seccomp_syscall_resolve_name(name);
    for (const Newer& n : kNewer)
        if (nr == __NR_SCMP_ERROR && std::string(name) == n.name)
            nr = n.nr;
    return nr;
}

// The allow-list's rules (kAllowed plus the argument filters).
int add_rules(scmp_filter_ctx ctx, bool host_network) {
    // A binary tree instead of a linear list: the kernel emulates the filter
    // for every system call number when it is loaded (its action cache), so
    // the program's path length is what loading costs (measured: linear
    // 99-instruction list ~140 us, the tree much less; docs/benchmarks.md).
    if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
        return fail("SCMP_FLTATR_CTL_OPTIMIZE", rc);
    for (const auto& s : kAllowed) {
        if (s.args != lightvm::sandbox::Args::Any || (s.host_network_only && !host_network))
            continue;
        int nr = resolve(s.name);
        if (nr == __NR_SCMP_ERROR)
            return fail(s.name, nr);
        if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc < 0)
            return fail(s.name, rc);
    }
    // Sanitizer builds only (the tests' ASan/UBSan tier): the sanitizer
    // runtime itself checks memory with pipes, installs alternate signal
    // stacks and reads limits. Never in a release build.
#if defined(__SANITIZE_ADDRESS__) || defined(LIGHTVM_SANITIZER_BUILD)
    for (const char* name : {"pipe2", "pipe", "sigaltstack", "sched_getaffinity", "prlimit64", "getrlimit",
                             "prctl", "uname", "getppid", "openat", "readlink", "munlock", "mlock"})
        if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(name), 0);
            rc < 0 && rc != -EEXIST)
            return fail(name, rc);
#endif
    // Argument filters, where an allowed call could do something new.
    auto rule = [&](const char* name, std::vector<scmp_arg_cmp> cmp) {
        int nr = seccomp_syscall_resolve_name(name);
        return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(cmp.size()), cmp.data());
    };
    // ioctl: the KVM run-loop requests, TCGETS (stdio's isatty), and the
    // guest's changes to its terminal (kHcTty: tcsetattr's three requests,
    // the window size read on SIGWINCH and set by TIOCSWINSZ). No other
    // terminal request: not TIOCSTI (typing into it), TIOCSETD, TIOCSCTTY.
    std::vector<unsigned long> ioctls = lightvm::kvm::run_loop_ioctls();
    for (unsigned long req : {TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ})
        ioctls.push_back(req);
    ioctls.push_back(FIONREAD);  // net device: bytes queued on a host socket
    for (unsigned long req : ioctls)
        if (int rc = rule("ioctl", {SCMP_A1_32(SCMP_CMP_EQ, static_cast<uint32_t>(req))}); rc < 0)
            return fail("ioctl rule", rc);
    // socket: IPv4/IPv6 only; no AF_UNIX (the host's local services),
    // AF_NETLINK (its network configuration) or AF_PACKET.
    for (int family : {AF_INET, AF_INET6}) {
        if (!host_network)
            break;
        if (int rc = rule("socket", {SCMP_A0_32(SCMP_CMP_EQ, static_cast<uint32_t>(family))}); rc < 0)
            return fail("socket rule", rc);
    }
    // No executable memory, ever: guest RAM and the heap are data.
    for (const char* name : {"mmap", "mprotect"})
        if (int rc = rule(name, {SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)}); rc < 0)
            return fail(name, rc);
    // clone: only fast_exit's reaper (shares memory and fds, no new
    // namespaces) and vCPU threads (pthread_create's flags). clone3 hides
    // its flags in memory: ENOSYS makes glibc fall back to clone.
    if (int rc = rule("clone", {SCMP_A0_64(SCMP_CMP_EQ, CLONE_VM | CLONE_FILES | CLONE_FS | SIGCHLD)}); rc < 0)
        return fail("clone rule", rc);
    constexpr uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                      CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    if (int rc = rule("clone", {SCMP_A0_64(SCMP_CMP_EQ, kThreadFlags)}); rc < 0)
        return fail("clone thread rule", rc);
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0); rc < 0)
        return fail("clone3 rule", rc);
    // rt_sigaction: any signal but SIGSYS, so the violation report stays.
    if (int rc = rule("rt_sigaction", {SCMP_A0_32(SCMP_CMP_NE, SIGSYS)}); rc < 0)
        return fail("rt_sigaction rule", rc);
    // Signals only to ourselves (abort, the reaper): kill/tgkill of pid 0
    // would reach the process group.
    if (int rc = rule("tgkill", {SCMP_A2_32(SCMP_CMP_NE, SIGSYS)}); rc < 0)
        return fail("tgkill rule", rc);

    return 0;
}

std::vector<unsigned char> export_bpf(scmp_filter_ctx ctx) {
    char tmpl[] = "/tmp/lightvm-bpf-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return fail("mkstemp", -1), std::vector<unsigned char>{};
    if (int rc = seccomp_export_bpf(ctx, fd); rc < 0)
        return fail("seccomp_export_bpf", rc), std::vector<unsigned char>{};
    std::vector<unsigned char> bpf;
    lseek(fd, 0, SEEK_SET);
    unsigned char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        bpf.insert(bpf.end(), buf, buf + n);
    close(fd);
    unlink(tmpl);
    if (bpf.empty() || bpf.size() % 8 != 0)
        return fail("bpf size", static_cast<int>(bpf.size())), std::vector<unsigned char>{};

    return bpf;
}

// One program: the allow-list, with the host-network calls or without.
// Empty on failure (the message is printed).
std::vector<unsigned char> build(bool host_network) {
    // Anything not allowed traps (SIGSYS): the handler the sandbox installs
    // prints one line naming the call and ends the process, and it cannot be
    // replaced (rt_sigaction on SIGSYS is not allowed) nor blocked (the
    // kernel forces a trap past a blocked SIGSYS, killing the process).
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        return fail("seccomp_init", -1), std::vector<unsigned char>{};
    std::vector<unsigned char> bpf;
    if (add_rules(ctx, host_network) == 0)
        bpf = export_bpf(ctx);
    seccomp_release(ctx);
    return bpf;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT.inc\n", argv[0]);
        return 2;
    }
    const std::vector<unsigned char> with_net = build(true), without_net = build(false);
    if (with_net.empty() || without_net.empty())
        return 1;
    std::string out = "// Generated by lightvm-filter-gen from src/sandbox/allow_list.hpp. Do not edit.\n";
    auto array = [&out](const char* name, const std::vector<unsigned char>& bpf) {
        out += std::string("static const unsigned char ") + name + "[] = {";
        for (size_t i = 0; i < bpf.size(); ++i)
            out += (i % 16 ? "" : "\n    ") + std::to_string(bpf[i]) + ",";
        out += "\n};\n";
    };
    array("kFilterBpf", with_net);          // --net host, user, ns
    array("kFilterBpfNoNet", without_net);  // --net none: no new sockets
    // Names for the violation report (the handler cannot call libseccomp).
    out += "static const char* const kSyscallNames[] = {";
    for (int nr = 0; nr < 512; ++nr) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        std::string known = name ? name : "";
        for (const Newer& n : kNewer)
            if (known.empty() && n.nr == nr)
                known = n.name;
        out += (nr % 8 ? " " : "\n    ") + (known.empty() ? std::string("nullptr") : "\"" + known + "\"") + ",";
        std::free(name);
    }
    out += "\n};\n";
    FILE* f = std::fopen(argv[1], "w");
    if (!f || std::fputs(out.c_str(), f) < 0 || std::fclose(f) != 0)
        return fail("write output", -1);
    return 0;
}
