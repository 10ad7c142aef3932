// The signal frame, as Linux builds it on x86-64 (arch/x86/kernel/signal.c,
// man 2 sigreturn): below the interrupted stack pointer (past the 128-byte
// red zone) or at the top of the alternate stack,
//
//     [fpstate: 512-byte fxsave image, 64-byte aligned]
//     [siginfo_t: 128 bytes]
//     [ucontext: flags, link, uc_stack, sigcontext, uc_sigmask]
//   rsp -> [pretcode: sa_restorer]       rsp + 8 is 16-byte aligned
//
// The monitor hides XSAVE from the guest (CPUID, XCR0 never enabled), so
// the FPU state is what a Linux kernel without XSAVE writes: the fxsave
// image with zero software bytes (no FP_XSTATE_MAGIC1/2) and uc_flags
// without UC_FP_XSTATE. The kernel is built -mgeneral-regs-only, so at this
// point the CPU's x87/SSE registers are still the user's.
#include "kernel/proc/sigframe.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/fpu.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

#include <asm/sigcontext.h>
#include <asm/ucontext.h>

namespace lightvm::guest {

namespace {

// struct sigcontext (uapi asm/sigcontext.h, 64-bit).
struct SigContext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved1[8];
};
static_assert(sizeof(SigContext) == sizeof(struct sigcontext));
static_assert(offsetof(SigContext, eflags) == offsetof(struct sigcontext, eflags));
static_assert(offsetof(SigContext, fpstate) == offsetof(struct sigcontext, fpstate));

// The kernel's struct ucontext (asm-generic/ucontext.h): an 8-byte mask.
struct UContext {
    uint64_t uc_flags;
    uint64_t uc_link;
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
    SigContext mc;
    uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);
static_assert(offsetof(UContext, mc) == 40);

struct RtSigFrame {
    uint64_t pretcode;
    UContext uc;
    KSigInfo info;
};
static_assert(sizeof(RtSigFrame) == 440);

constexpr uint64_t kFxSize = 512;
constexpr uint64_t kRedZone = 128;
constexpr uint64_t kUserCs = 0x33, kUserSs = 0x2b;
// What rt_sigreturn may change in RFLAGS (Linux's FIX_EFLAGS): the
// arithmetic flags, DF, TF, AC, RF. Never IF, IOPL, VM, NT.
constexpr uint64_t kUserFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x10000 | 0x40000;

alignas(64) uint8_t g_fx[kFxSize];  // one CPU: the state on its way to or from the frame
uint64_t g_trapno, g_error, g_cr2;

bool canonical_user(uint64_t a) { return a < kUserMax; }

void save_regs(SigContext& sc, const SyscallFrame& f) {
    sc.r8 = f.r8, sc.r9 = f.r9, sc.r10 = f.r10, sc.r11 = f.r11;
    sc.r12 = f.r12, sc.r13 = f.r13, sc.r14 = f.r14, sc.r15 = f.r15;
    sc.rdi = f.rdi, sc.rsi = f.rsi, sc.rbp = f.rbp, sc.rbx = f.rbx;
    sc.rdx = f.rdx, sc.rax = f.rax, sc.rcx = f.rcx, sc.rsp = f.rsp;
    sc.rip = f.rip, sc.eflags = f.rflags;
    sc.cs = kUserCs, sc.ss = kUserSs;
}

void load_regs(SyscallFrame& f, const SigContext& sc) {
    f.r8 = sc.r8, f.r9 = sc.r9, f.r10 = sc.r10, f.r11 = sc.r11;
    f.r12 = sc.r12, f.r13 = sc.r13, f.r14 = sc.r14, f.r15 = sc.r15;
    f.rdi = sc.rdi, f.rsi = sc.rsi, f.rbp = sc.rbp, f.rbx = sc.rbx;
    f.rdx = sc.rdx, f.rax = sc.rax, f.rcx = sc.rcx, f.rsp = sc.rsp;
    f.rip = sc.rip;
    f.rflags = (f.rflags & ~kUserFlags) | (sc.eflags & kUserFlags);
    f.cs = kUserCs, f.ss = kUserSs;
}

// Where the frame goes (Linux's get_sigframe). 0: no room.
uint64_t frame_address(const SyscallFrame& f, const KSigAction& ka, uint64_t* fp_out) {
    const Task& t = *current();
    uint64_t sp = f.rsp - kRedZone;
    const bool alt = (ka.flags & SA_ONSTACK) && !(t.sig.ss_flags & SS_DISABLE) && t.sig.ss_size;
    if (alt && !on_altstack(t, f.rsp))
        sp = t.sig.ss_sp + t.sig.ss_size;
    uint64_t fp = (sp - kFxSize) & ~63ull;
    uint64_t frame = ((fp - sizeof(RtSigFrame) + 8) & ~15ull) - 8;
    if (alt && frame < t.sig.ss_sp)
        return 0;  // the alternate stack overflows: a bad frame, as on Linux
    if (frame > sp)  // wrapped around
        return 0;
    *fp_out = fp;
    return frame;
}

}  // namespace

bool on_altstack(const Task& t, uint64_t sp) {
    return t.sig.ss_size && sp > t.sig.ss_sp && sp - t.sig.ss_sp <= t.sig.ss_size;
}

void sigframe_set_fault(uint64_t trapno, uint64_t error, uint64_t cr2) {
    g_trapno = trapno;
    g_error = error;
    g_cr2 = cr2;
}

bool sigframe_setup(SyscallFrame* f, int sig, const KSigInfo& info, const KSigAction& ka, uint64_t old_mask) {
    if (!(ka.flags & SA_RESTORER))
        return false;  // x86-64 has no kernel-provided trampoline
    uint64_t fp = 0;
    const uint64_t addr = frame_address(*f, ka, &fp);
    if (!addr)
        return false;
    const Task& t = *current();
    RtSigFrame fr{};
    fr.pretcode = ka.restorer;
    fr.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    fr.uc.ss_sp = t.sig.ss_sp;
    fr.uc.ss_size = t.sig.ss_size;
    fr.uc.ss_flags = (t.sig.ss_flags & SS_DISABLE) || !t.sig.ss_size ? SS_DISABLE
                     : on_altstack(t, f->rsp)                        ? SS_ONSTACK
                                                                     : 0;
    save_regs(fr.uc.mc, *f);
    fr.uc.mc.err = g_error;
    fr.uc.mc.trapno = g_trapno;
    fr.uc.mc.cr2 = g_cr2;
    fr.uc.mc.oldmask = old_mask;
    fr.uc.mc.fpstate = fp;
    fr.uc.sigmask = old_mask;
    fr.info = info;
    fpu_save(g_fx);
    memset(g_fx + 464, 0, 48);  // the software bytes: no xstate (see above)
    if (copy_to_user(fp, g_fx, kFxSize) < 0 || copy_to_user(addr, &fr, sizeof fr) < 0)
        return false;
    fpu_load_init();  // the handler starts with a clean FPU, as on Linux
    f->rdi = static_cast<uint64_t>(sig);
    f->rsi = addr + offsetof(RtSigFrame, info);
    f->rdx = addr + offsetof(RtSigFrame, uc);
    f->rax = 0;
    f->rsp = addr;
    f->rip = ka.handler;
    f->rflags &= ~(0x400ull | 0x100ull | 0x10000ull);  // DF, TF, RF
    f->cs = kUserCs;
    f->ss = kUserSs;
    return true;
}

bool sigframe_return(SyscallFrame* f) {
    const uint64_t addr = f->rsp - 8;
    RtSigFrame fr;
    if (copy_from_user(&fr, addr, sizeof fr) < 0)
        return false;
    const SigContext& sc = fr.uc.mc;
    // A frame the program forged must not take it anywhere a real one could
    // not: user-space rip and rsp, user selectors. (Linux ignores cs and
    // fails on a bad ss at iret; either way the program gets SIGSEGV.)
    if (!canonical_user(sc.rip) || !canonical_user(sc.rsp) || sc.cs != kUserCs || sc.ss != kUserSs)
        return false;
    if (sc.fpstate) {
        if ((sc.fpstate & 15) || copy_from_user(g_fx, sc.fpstate, kFxSize) < 0)
            return false;
        // Reserved MXCSR bits would make fxrstor fault in the kernel; Linux
        // fails the frame (SIGSEGV) for them too.
        uint32_t mxcsr;
        memcpy(&mxcsr, g_fx + 24, 4);
        if (mxcsr & ~fpu_mxcsr_mask())
            return false;
    }
    load_regs(*f, sc);
    if (sc.fpstate)
        fpu_load(g_fx);
    else
        fpu_load_init();  // no FPU context: the init state, as Linux
    Task& t = *current();
    t.sigmask = fr.uc.sigmask & ~(sig_bit(SIGKILL) | sig_bit(SIGSTOP));
    // uc_stack: the handler may have changed it (restore_altstack); not
    // while running on it.
    if (!on_altstack(t, f->rsp)) {
        if (fr.uc.ss_flags & SS_DISABLE) {
            t.sig.ss_sp = t.sig.ss_size = 0;
            t.sig.ss_flags = SS_DISABLE;
        } else if (fr.uc.ss_size >= MINSIGSTKSZ && canonical_user(fr.uc.ss_sp)) {
            t.sig.ss_sp = fr.uc.ss_sp;
            t.sig.ss_size = fr.uc.ss_size;
            t.sig.ss_flags = 0;
        }
    }
    return true;
}

}  // namespace lightvm::guest
