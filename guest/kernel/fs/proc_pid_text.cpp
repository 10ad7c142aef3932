// The text of /proc/PID/{stat,status,statm,comm,cmdline,environ} in
// Linux's formats (man 5 proc; stat's field order is what ps and top
// parse), from the process table, the task's CPU time and the address
// space. A zombie has neither address space nor task: its name and times
// were kept at exit, and its memory lines are left out, as on Linux.
#include "kernel/fs/proc_pid.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/rusage.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/uapi.hpp"
#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kTickNs = 10'000'000;     // USER_HZ = 100
constexpr uint32_t kSmallText = 2048;        // stat, status, statm, comm
constexpr uint64_t kMaxStrings = 128 << 10;  // cmdline/environ shown at most (Linux: the whole range)

struct Memory {
    uint64_t size, exe, data, stack;  // bytes
    uint64_t resident;                // pages
};

Memory memory_of(const Process& p) {
    Memory m{};
    if (!p.mm)
        return m;
    const AddressSpace& as = *p.mm;
    for (uint32_t i = 0; i < as.nvma; ++i) {
        const Vma& v = as.vmas[i];
        uint64_t len = v.end - v.start;
        m.size += len;
        if (as.stack_top && v.start < as.stack_top && as.stack_top <= v.end)
            m.stack += len;
        else if (v.prot & PROT_EXEC)
            m.exe += len;
        else if (v.prot & PROT_WRITE)
            m.data += len;
    }
    m.resident = as.resident;
    return m;
}

const char* comm_of(const Process& p) { return p.task ? p.task->comm : p.exit_comm; }

char state_of(const Process& p) {
    if (p.state == ProcState::Zombie || !p.task)
        return 'Z';
    if (p.stopped)
        return 'T';
    return p.task->state == TaskState::Blocked ? 'S' : 'R';
}

const char* state_name(char s) {
    switch (s) {
    case 'R': return "R (running)";
    case 'S': return "S (sleeping)";
    case 'T': return "T (stopped)";
    default: return "Z (zombie)";
    }
}

void times_of(const Process& p, uint64_t* user, uint64_t* sys) {
    if (p.task) {
        cputime_process(&p, user, sys);
    } else {
        *user = p.cpu.exit_user_ns;  // a zombie: taken at exit
        *sys = p.cpu.exit_sys_ns;
    }
}

// Ticks since boot: start_ns is monotonic time, which starts at the
// host's value for the VM (BootInfo.monotonic_base_ns).
uint64_t start_ticks(const Process& p) {
    uint64_t base = boot().monotonic_base_ns;
    return p.start_ns > base ? (p.start_ns - base) / kTickNs : 0;
}

uint64_t sig_mask(const Process& p, uint64_t handler_kind) {
    uint64_t m = 0;
    if (!p.sig.hand)
        return 0;
    for (int i = 0; i < kNSig; ++i) {
        uint64_t h = p.sig.hand->action[i].handler;
        bool match = handler_kind == 2 ? h > 1 : h == handler_kind;  // 1: SIG_IGN, 2: a handler
        if (match)
            m |= uint64_t{1} << i;
    }
    return m;
}

void hex16(TextBuffer& t, uint64_t v) {
    for (int shift = 60; shift >= 0; shift -= 4)
        t.ch("0123456789abcdef"[(v >> shift) & 0xf]);
}

void kb_line(TextBuffer& t, const char* name, uint64_t bytes) {
    t.str(name).str(":\t");
    uint64_t kb = bytes >> 10;
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + kb % 10);
        kb /= 10;
    } while (kb);
    for (int pad = 8 - n; pad > 0; --pad)
        t.ch(' ');
    while (n)
        t.ch(digits[--n]);
    t.str(" kB\n");
}

size_t format_stat(TextBuffer& t, const Process& p) {
    const Memory m = memory_of(p);
    uint64_t user, sys;
    times_of(p, &user, &sys);
    const AddressSpace* as = p.mm;
    uint64_t code_start = 0, code_end = 0;
    for (uint32_t i = 0; as && i < as->nvma && !code_end; ++i)
        if (as->vmas[i].prot & PROT_EXEC) {
            code_start = as->vmas[i].start;
            code_end = as->vmas[i].end;
        }
    auto sp = [&t] { t.ch(' '); };
    t.udec(p.pid).str(" (").str(comm_of(p)).str(") ").ch(state_of(p));
    sp(), t.udec(p.ppid), sp(), t.udec(p.pgid), sp(), t.udec(p.sid);
    rusage ru{};
    rusage_self(&p, &ru);
    t.str(" 0 -1 4194304 ");  // tty_nr tpgid flags
    t.udec(static_cast<uint64_t>(ru.ru_minflt)), sp(), t.udec(p.usage.children.minflt);
    t.str(" 0 0 ");  // majflt cmajflt
    t.udec(user / kTickNs), sp(), t.udec(sys / kTickNs);
    t.ch(' ').udec(p.cpu.children_user_ns / kTickNs).ch(' ').udec(p.cpu.children_sys_ns / kTickNs).ch(' ');
    const int nice = p.attrs.nice;
    t.dec(20 + nice), sp(), t.dec(nice);
    t.str(" 1 0 ");  // num_threads itrealvalue
    t.udec(start_ticks(p)), sp(), t.udec(m.size), sp(), t.udec(m.resident);
    t.str(" 18446744073709551615 ");  // rsslim
    t.udec(code_start), sp(), t.udec(code_end), sp(), t.udec(as ? as->start_stack : 0);
    t.str(" 0 0 ");  // kstkesp kstkeip
    uint64_t pending = p.sig.shared.set | (p.task ? p.task->sig.pending.set : 0);
    t.udec(pending), sp(), t.udec(p.task ? p.task->sigmask : 0), sp(), t.udec(sig_mask(p, 1)), sp();
    t.udec(sig_mask(p, 2));
    t.str(" 0 0 0 ");  // wchan nswap cnswap
    t.udec(p.exit_signal).str(" 0 ").udec(p.attrs.rt_priority).ch(' ').udec(p.attrs.policy);
    t.str(" 0 0 0 ");  // delayacct_blkio_ticks guest_time cguest_time
    uint64_t brk_start = as ? as->brk_start : 0;
    t.udec(0), sp(), t.udec(0), sp(), t.udec(brk_start);  // start_data end_data start_brk
    sp(), t.udec(as ? as->arg_start : 0), sp(), t.udec(as ? as->arg_end : 0);
    sp(), t.udec(as ? as->env_start : 0), sp(), t.udec(as ? as->env_end : 0);
    sp(), t.dec(p.state == ProcState::Zombie ? p.wait_status : 0).ch('\n');
    return t.size();
}

size_t format_status(TextBuffer& t, const Process& p) {
    const char s = state_of(p);
    t.str("Name:\t").str(comm_of(p)).ch('\n');
    if (p.fs) {
        unsigned u = p.fs->umask;
        t.str("Umask:\t0").ch(static_cast<char>('0' + ((u >> 6) & 7)));
        t.ch(static_cast<char>('0' + ((u >> 3) & 7))).ch(static_cast<char>('0' + (u & 7))).ch('\n');
    }
    t.str("State:\t").str(state_name(s)).ch('\n');
    t.str("Tgid:\t").udec(p.pid).str("\nNgid:\t0\nPid:\t").udec(p.pid).str("\nPPid:\t").udec(p.ppid);
    t.str("\nTracerPid:\t0\n");
    const Credentials& c = p.cred;
    t.str("Uid:\t").udec(c.uid).ch('\t').udec(c.euid).ch('\t').udec(c.suid).ch('\t').udec(c.fsuid).ch('\n');
    t.str("Gid:\t").udec(c.gid).ch('\t').udec(c.egid).ch('\t').udec(c.sgid).ch('\t').udec(c.fsgid).ch('\n');
    t.str("FDSize:\t").udec(p.files ? 64 : 0).str("\nGroups:\t");
    for (uint32_t i = 0; i < c.ngroups && i < kMaxGroups; ++i)
        t.udec(c.groups[i]).ch(' ');
    t.ch('\n');
    t.str("NStgid:\t").udec(p.pid).str("\nNSpid:\t").udec(p.pid).str("\nNSpgid:\t").udec(p.pgid);
    t.str("\nNSsid:\t").udec(p.sid).ch('\n');
    if (p.mm) {
        const Memory m = memory_of(p);
        const uint64_t rss = m.resident * kPage;
        kb_line(t, "VmPeak", m.size);
        kb_line(t, "VmSize", m.size);
        kb_line(t, "VmLck", 0);
        kb_line(t, "VmPin", 0);
        kb_line(t, "VmHWM", p.mm->hiwater * kPage);
        kb_line(t, "VmRSS", rss);
        kb_line(t, "RssAnon", rss);
        kb_line(t, "RssFile", 0);
        kb_line(t, "RssShmem", 0);
        kb_line(t, "VmData", m.data);
        kb_line(t, "VmStk", m.stack);
        kb_line(t, "VmExe", m.exe);
        kb_line(t, "VmLib", 0);
        kb_line(t, "VmPTE", 0);
        kb_line(t, "VmSwap", 0);
    }
    t.str("Threads:\t").udec(p.task ? 1 : 0).ch('\n');
    t.str("SigQ:\t").udec(p.sig.shared.n).ch('/').udec(p.rlimit[RLIMIT_SIGPENDING][0]).ch('\n');
    t.str("SigPnd:\t"), hex16(t, p.task ? p.task->sig.pending.set : 0);
    t.str("\nShdPnd:\t"), hex16(t, p.sig.shared.set);
    t.str("\nSigBlk:\t"), hex16(t, p.task ? p.task->sigmask : 0);
    t.str("\nSigIgn:\t"), hex16(t, sig_mask(p, 1));
    t.str("\nSigCgt:\t"), hex16(t, sig_mask(p, 2));
    t.str("\nCapInh:\t"), hex16(t, p.attrs.cap_inheritable);
    t.str("\nCapPrm:\t"), hex16(t, caps_all() & ~p.attrs.cap_prm_dropped);
    t.str("\nCapEff:\t"), hex16(t, caps_all() & ~p.attrs.cap_eff_dropped);
    t.str("\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n");
    t.str("NoNewPrivs:\t").udec(p.attrs.no_new_privs ? 1 : 0).str("\nSeccomp:\t0\nSeccomp_filters:\t0\n");
    t.str("Cpus_allowed:\t1\nCpus_allowed_list:\t0\nMems_allowed:\t1\nMems_allowed_list:\t0\n");
    t.str("voluntary_ctxt_switches:\t").udec(p.task ? p.task->usage.nvcsw : 0);
    t.str("\nnonvoluntary_ctxt_switches:\t").udec(p.task ? p.task->usage.nivcsw : 0).ch('\n');
    return t.size();
}

size_t format_statm(TextBuffer& t, const Process& p) {
    const Memory m = memory_of(p);
    t.udec(m.size / kPage).ch(' ').udec(m.resident).str(" 0 ").udec(m.exe / kPage).str(" 0 ");
    t.udec((m.data + m.stack) / kPage).str(" 0\n");
    return t.size();
}

// cmdline/environ: the bytes of [start, end) in the process's memory.
char* strings_of(const Process& p, bool env, uint32_t* len, uint32_t* cap) {
    uint64_t start = 0, end = 0;
    if (p.mm) {
        start = env ? p.mm->env_start : p.mm->arg_start;
        end = env ? p.mm->env_end : p.mm->arg_end;
    }
    uint64_t n = end > start ? end - start : 0;
    n = n < kMaxStrings ? n : kMaxStrings;
    *cap = static_cast<uint32_t>(n ? n : 1);
    auto* text = static_cast<char*>(kmem_alloc(*cap));
    if (!text)
        return nullptr;
    *len = n ? static_cast<uint32_t>(copy_from_as(*p.mm, text, start, n)) : 0;
    return text;
}

}  // namespace

char* proc_pid_text(uint32_t pid, PidFile f, uint32_t* len, uint32_t* cap) {
    Process* p = process_find(pid);
    if (!p) {  // gone between lookup and open: an empty file
        *cap = 1;
        *len = 0;
        return static_cast<char*>(kmem_alloc(1));
    }
    if (f == PidFile::Cmdline || f == PidFile::Environ)
        return strings_of(*p, f == PidFile::Environ, len, cap);
    *cap = kSmallText;
    auto* text = static_cast<char*>(kmem_alloc(kSmallText));
    if (!text)
        return nullptr;
    TextBuffer t(text, kSmallText);
    switch (f) {
    case PidFile::Stat: format_stat(t, *p); break;
    case PidFile::Status: format_status(t, *p); break;
    case PidFile::Statm: format_statm(t, *p); break;
    default: t.str(comm_of(*p)).ch('\n'); break;  // comm
    }
    *len = static_cast<uint32_t>(t.size());
    return text;
}

}  // namespace lightvm::guest
