// Guest kernel entry: check the boot page, set up, start the application.
#include "kernel/dev/console.hpp"
#include "kernel/exec/boot_exec.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/page_cache.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/irq/selftest.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/syscalls/syscall.hpp"

static_assert(lightvm::abi::kKernelMagic == 0x4b4d564c && lightvm::abi::kAbiVersion == 5,
              "update the header in arch/entry.S");

using namespace lightvm;
using namespace lightvm::guest;

namespace {

bool boot_page_valid(const abi::BootInfo* info) {
    return info == &boot() && info->magic == abi::kBootMagic && info->abi_version == abi::kAbiVersion;
}

// Everything that needs no workload: a pool shell does this before its
// request comes (docs/design.md "Booted shells").
void boot_kernel() {
    smp_init();   // CPU 0, holding the kernel lock since boot
    proc_init();  // first: everything after it reaches its state through current()
    console_init();
    memory_init();
    page_cache_init();
}

// A booted shell waits here, its kernel up, until the monitor has written
// the workload into the boot page (abi.h HcPark).
void park() {
    volatile abi::HcPark hc{frames_next(), 0};
    hypercall(abi::kHcPark, &hc);
    if (!boot_page_valid(&boot()) || (boot().flags & abi::kBootPark))
        exit_vm(127, 0);
    boot().kernel_entry_tsc = rdtsc();  // --stats: the workload's part starts here
}

// The boot page's workload: ids, devices, files, seeds; then its program.
[[noreturn]] void start_workload() {
    smp_init_workload();
    proc_init_workload();
    memory_init_workload();
    cache_init();
    io_init();
    random_init();
    vfs_init();
    net_init();
    syscalls_init();
    // No handlers for real work yet (preemption and wake-ups come with threads):
    // deliveries are counted in IrqState; the test hooks use them.
    irq::selftest_init();
    ProgramStart start = exec_boot_program();
    boot().app_entry_tsc = rdtsc();
    bkl_unlock();  // user code runs without it
    lvm_enter_app(start.entry, start.sp);
}

}  // namespace

extern "C" [[noreturn]] void lvm_main(abi::BootInfo* info) {
    uint64_t t0 = rdtsc();
    if (!boot_page_valid(info))
        exit_vm(127, 0);  // monitor/kernel mismatch: nothing sensible to run
    info->kernel_entry_tsc = t0;
    boot_kernel();
    if (info->flags & abi::kBootPark)
        park();
    start_workload();
}
