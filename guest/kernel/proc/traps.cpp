// CPU exceptions handed to the program's handler (arch/x86_64/percpu.S,
// lvm_trap_common*): the stub only comes here when CpuArch.trap_handled says a
// handler for the vector's signal is installed and not blocked, so the
// unhandled case keeps the monitor's report. Codes and addresses as Linux
// gives them (arch/x86/kernel/traps.c).
#include "arch/x86_64/cpu.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/signal_deliver.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// SIMD floating-point exception: which one, from MXCSR's flags not masked.
int simd_code() {
    uint32_t mxcsr;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    const uint32_t raised = mxcsr & ~(mxcsr >> 7) & 0x3f;
    if (raised & 0x01) return FPE_FLTINV;
    if (raised & 0x04) return FPE_FLTDIV;
    if (raised & 0x08) return FPE_FLTOVF;
    if (raised & 0x10) return FPE_FLTUND;
    if (raised & 0x20) return FPE_FLTRES;
    if (raised & 0x02) return FPE_FLTUND;  // denormal operand
    return 0;
}

// x87 exception: the same from the status and control words.
int x87_code() {
    uint16_t sw, cw;
    asm volatile("fnstsw %0" : "=m"(sw));
    asm volatile("fnstcw %0" : "=m"(cw));
    const uint16_t raised = sw & ~cw & 0x3f;
    if (raised & 0x01) return FPE_FLTINV;  // invalid operation or stack fault
    if (raised & 0x04) return FPE_FLTDIV;
    if (raised & 0x08) return FPE_FLTOVF;
    if (raised & 0x10) return FPE_FLTUND;
    if (raised & 0x20) return FPE_FLTRES;
    return 0;
}

void trap(PushedGprs* regs, const CpuArch& cpu) {
    irq::MaskGuard masked;
    const uint64_t vector = cpu.trap_vector, rip = cpu.fault_frame[1], error = cpu.fault_frame[0];
    int sig = SIGSEGV, code = SI_KERNEL;
    uint64_t addr = 0;
    switch (vector) {
    case 0:
        sig = SIGFPE, code = FPE_INTDIV, addr = rip;
        break;
    case 6:
        sig = SIGILL, code = ILL_ILLOPN, addr = rip;
        break;
    case 16:
        sig = SIGFPE, code = x87_code(), addr = rip;
        break;
    case 19:
        sig = SIGFPE, code = simd_code(), addr = rip;
        break;
    default:  // 13, #GP: SIGSEGV with SI_KERNEL and no address, as Linux
        break;
    }
    if (!signal_fault_to_handler(*regs, sig, code, addr, vector, error))
        process_kill_self(static_cast<unsigned>(sig));  // the handler's stack cannot take the frame
}

}  // namespace

// From CPU cpu's fault stack, always from the program: take the kernel lock.
extern "C" void lvm_trap(PushedGprs* regs, uint32_t cpu) {
    const bool took = bkl_enter(cpu);
    trap(regs, lvm_percpu[cpu]);
    bkl_leave(took);
}

}  // namespace lightvm::guest
