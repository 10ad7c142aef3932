// Guest virtual memory for the one application. RAM is identity-mapped
// once, by the monitor, and the page tables never change (docs/platform.md:
// shadow paging makes live edits expensive and unmaps need flushes), so
// mmap/munmap/brk are pure bookkeeping over the free range between the
// application image and the stack: no exits, no page faults of our own.
// Consequence: mprotect is accepted but not enforced, and there are no guard
// pages; the VM boundary is the isolation boundary.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

void memory_init(uint64_t heap_lo, uint64_t heap_hi);

struct AddressSpace;
// An empty address space: user pointers may name [user_lo, user_hi); brk
// and mmap hand out [heap_lo, heap_hi). (memory_init does this for the
// first process; hosted tests for their own.)
void address_space_init(AddressSpace& as, uint64_t user_lo, uint64_t user_hi, uint64_t heap_lo, uint64_t heap_hi);
// RAM the monitor backs already: [0, low_end) and [high_start, mem_size).
void memory_set_backed(uint64_t low_end, uint64_t high_start);

uint64_t mem_brk(uint64_t new_brk);
// Linux mmap semantics for anonymous memory; returns address or -errno.
long mem_mmap(uint64_t addr, uint64_t len, int prot, int flags);
long mem_munmap(uint64_t addr, uint64_t len);
long mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);
long mem_mprotect(uint64_t addr, uint64_t len, int prot);

// Bytes currently handed out (brk + mmap), for sysinfo.
uint64_t mem_used();

}  // namespace lightvm::guest
