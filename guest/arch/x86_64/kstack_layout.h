/* Kernel stack slots: shared by entry.S (which reserves them and starts on
   slot 0) and the C++ stack allocator (mm/kstack.cpp). Each slot is a
   guard page, never mapped (the monitor leaves it out of the page tables,
   see KernelHeader.kstack_area), followed by the stack. */
#pragma once

#define LVM_KSTACK_SIZE 65536
#define LVM_KSTACK_GUARD 4096
#define LVM_KSTACK_SLOT (LVM_KSTACK_GUARD + LVM_KSTACK_SIZE)
#define LVM_KSTACK_SLOTS 4 /* the boot task + kernel threads until tasks are many */
