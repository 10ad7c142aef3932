// The C side of the page-fault path (arch/x86_64/percpu.S): resolve the fault
// through the address space, enter the program's SIGSEGV handler, or end
// the VM with a report naming the fault.
#include "arch/x86_64/cpu.hpp"
#include "kernel/errno.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kstack.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/signal_deliver.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

extern "C" char __kernel_end[];

namespace lightvm::guest {

namespace {

enum : uint64_t { kErrPresent = 1, kErrWrite = 2, kErrFetch = 16 };

// A SIGSEGV handler the program installed (and does not block) runs
// instead of the report: true if the frame now enters it.
bool to_handler(PushedGprs& r, uint64_t addr, uint64_t err) {
    // Linux: a mapping that forbids the access is SEGV_ACCERR, no mapping SEGV_MAPERR.
    const int code = vma_find(*current_process()->mm, addr) ? SEGV_ACCERR : SEGV_MAPERR;
    return signal_fault_to_handler(r, SIGSEGV, code, addr, 14, err);
}

bool in_kernel_image(uint64_t a) { return a >= abi::kKernelBase && a < reinterpret_cast<uint64_t>(__kernel_end); }
// A kernel stack's guard page: in the image (the boot stack) or in the area.
bool stack_guard(uint64_t a, uint64_t err) {
    if (err & kErrPresent)
        return false;
    return in_kernel_image(a) || (a >= kKStackArea && a < kKStackArea + uint64_t(kKStackMax) * kKStackStride);
}

[[noreturn]] void report(uint32_t kind, uint64_t addr) {
    static volatile abi::HcFault hc;  // under the kernel lock
    const uint64_t* frame = this_cpu_arch().fault_frame;
    hc.kind = kind;
    hc.vector = 14;
    hc.error = frame[0];
    hc.rip = frame[1];
    hc.addr = addr;
    hc.rsp = frame[4];
    hypercall(abi::kHcFault, &hc);
    for (;;)
        exit_vm(139, 11);  // a monitor that ignored the report
}

void page_fault(PushedGprs* regs, const CpuArch& cpu) {
    irq::MaskGuard masked;
    const uint64_t err = cpu.fault_frame[0], rip = cpu.fault_frame[1], addr = cpu.pf_cr2;
    const bool user_addr = addr >= kUserMin && addr < kUserMax;
    if (user_addr) {
        // From the program, or from kernel code touching user memory that
        // the user-access layer had not prepared: resolve it the same way.
        current()->usage.minflt++;
        long r = as_fault(*current_process()->mm, addr, err & kErrWrite, err & kErrFetch);
        if (r == 0)
            return;
        if (r == kFaultBeyondEof && !in_kernel_image(rip)) {
            // Linux: a page wholly past the end of a mapped file is SIGBUS (BUS_ADRERR).
            if (signal_fault_to_handler(*regs, SIGBUS, BUS_ADRERR, addr, 14, err))
                return;
            report(abi::kFaultPastEof, addr);
        }
        if (!in_kernel_image(rip)) {
            if (r != -err::kNoMem && to_handler(*regs, addr, err))
                return;
            report(r == -err::kNoMem ? abi::kFaultOutOfMemory : abi::kFaultAccess, addr);
        }
    }
    if (in_kernel_image(rip))
        report(stack_guard(addr, err) ? abi::kFaultKernelStack : abi::kFaultKernel, addr);
    if (to_handler(*regs, addr, err))
        return;
    report(abi::kFaultAccess, addr);  // the kernel's regions, non-canonical, ... from the program
}

}  // namespace

// From CPU cpu's fault stack: from the program (take the kernel lock) or
// from kernel code touching user memory (which holds it).
extern "C" void lvm_page_fault(PushedGprs* regs, uint32_t cpu) {
    const bool took = bkl_enter(cpu);
    page_fault(regs, lvm_percpu[cpu]);
    bkl_leave(took);
}

}  // namespace lightvm::guest
