// The memory system calls (mmap family, brk) with Linux's semantics, over
// the current process's AddressSpace (mm/address_space.hpp). Every result
// is an address or -errno.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;
struct AddressSpace;

// Sets up the memory manager: the frame pool, the first address space over
// the monitor's page tables.
void memory_init();
// Once the workload is in the boot page: the pool ends below the program's
// file (BootInfo.image_gpa), which the boot program is loaded from.
void memory_init_workload();

uint64_t mem_brk(uint64_t new_brk);
// file: nullptr for anonymous memory (MAP_ANONYMOUS or /dev/zero).
long mem_mmap(uint64_t addr, uint64_t len, int prot, int flags, OpenFile* file, uint64_t offset);
long mem_munmap(uint64_t addr, uint64_t len);
long mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);
long mem_mprotect(uint64_t addr, uint64_t len, int prot);
long mem_madvise(uint64_t addr, uint64_t len, int advice);
long mem_msync(uint64_t addr, uint64_t len, int flags);
// One byte per page into the kernel buffer out[pages] (1: resident).
long mem_mincore_page(uint64_t addr, uint8_t* resident);

// For exec (exec/): the boot image's bytes from image_offset mapped at
// [addr, addr+len) without copying (MAP_FIXED semantics); the main stack
// [top - size, top), which also places the mmap area below it; the start
// of the program break.
long mem_map_image(uint64_t addr, uint64_t len, int prot, uint64_t image_offset);
long mem_setup_stack(uint64_t top, uint64_t size, uint64_t mmap_gap);
void mem_set_brk(uint64_t start);

// The program is ending: shared file mappings are written back.
void memory_exit();

// Bytes of guest RAM in use (frames handed out and everything outside the
// frame pool), for sysinfo and /proc/meminfo.
uint64_t mem_used();

}  // namespace lightvm::guest
