// Guest kernel entry: check the boot page, set up, start the application.
#include "kernel/dev/console.hpp"
#include "kernel/exec/boot_exec.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/page_cache.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/irq/selftest.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/syscalls/syscall.hpp"

static_assert(lightvm::abi::kKernelMagic == 0x4b4d564c && lightvm::abi::kAbiVersion == 4,
              "update the header in arch/entry.S");

using namespace lightvm;
using namespace lightvm::guest;

extern "C" [[noreturn]] void lvm_main(abi::BootInfo* info) {
    uint64_t t0 = rdtsc();
    if (info != &boot() || info->magic != abi::kBootMagic || info->abi_version != abi::kAbiVersion)
        exit_vm(127, 0);  // monitor/kernel mismatch: nothing sensible to run
    info->kernel_entry_tsc = t0;
    smp_init();   // CPU 0, holding the kernel lock since boot
    proc_init();  // first: everything after it reaches its state through current()
    console_init();
    memory_init();
    cache_init();
    page_cache_init();
    io_init();
    random_init();
    vfs_init();
    net_init();
    syscalls_init();
    // No handlers for real work yet (preemption and wake-ups come with threads):
    // deliveries are counted in IrqState; the test hooks use them.
    irq::selftest_init();
    ProgramStart start = exec_boot_program();
    info->app_entry_tsc = rdtsc();
    bkl_unlock();  // user code runs without it
    lvm_enter_app(start.entry, start.sp);
}
