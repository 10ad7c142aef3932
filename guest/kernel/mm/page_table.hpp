// x86-64 4-level page tables, edited by the guest kernel itself (the
// monitor builds only the kernel's part before the first instruction).
// Costs on PVM (docs/platform.md): making a not-present entry present needs
// no flush; changing or clearing a present one leaves the old translation
// usable until the TLB is flushed (AddressSpace batches that); writes to
// upper levels trap every time (~4-6 us), so tables are created once and
// kept until the address space dies.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

namespace pte {
inline constexpr uint64_t kPresent = 1ull << 0;
inline constexpr uint64_t kWrite = 1ull << 1;
inline constexpr uint64_t kUser = 1ull << 2;
inline constexpr uint64_t kAccessed = 1ull << 5;
inline constexpr uint64_t kDirty = 1ull << 6;
inline constexpr uint64_t kHuge = 1ull << 7;
inline constexpr uint64_t kGlobal = 1ull << 8;
inline constexpr uint64_t kCow = 1ull << 9;       // software: writable mapping, shared frame: copy on write
inline constexpr uint64_t kProtNone = 1ull << 10;  // software, with kPresent clear: a PROT_NONE page keeping its frame
inline constexpr uint64_t kNoExec = 1ull << 63;
inline constexpr uint64_t kAddr = 0x000ffffffffff000ull;
inline constexpr uint64_t kTable = kPresent | kWrite | kUser;  // upper levels: the leaf decides
}  // namespace pte

// The PTE bits for a mapping's PROT_* value (no kCow).
uint64_t pte_flags(int prot);

// The 4 KiB entry for va. alloc: create missing tables (nullptr on OOM).
// Without alloc, nullptr when a table is missing. A 2 MiB entry in the way
// is returned as is (*huge set), never walked through.
uint64_t* pt_entry(uint64_t root, uint64_t va, bool alloc, bool* huge = nullptr);

// The 2 MiB-level (PD) entry for va, creating the tables above it when
// alloc: where a 2 MiB mapping goes. nullptr when a table is missing (or
// on OOM).
uint64_t* pt_pde(uint64_t root, uint64_t va, bool alloc);
// Replaces a 2 MiB user entry with a table of 512 4 KiB entries for the
// same frames and rights, so that part of it can change. No flush is
// needed: every cached translation stays true. False when no frame is
// left for the table (nothing changed).
bool pt_split_huge(uint64_t* pde);
// The 4 KiB entry bits a 2 MiB entry's pages get (bit 7 is PAT there).
inline uint64_t pt_small_bits(uint64_t pde) { return pde & ~(pte::kAddr | pte::kHuge); }

// A zeroed frame for a page table, from the cache of dead address spaces'
// tables first (page_table.cpp says why); 0 on OOM.
uint64_t pt_table_alloc();
// Gives back a table frame, which must be all zeros.
void pt_table_free(uint64_t frame);
uint32_t pt_tables_cached();
// The frame pool starts over (hosted tests): cached frames are not ours.
void pt_tables_forget();

// A dead root whose user part is empty but whose kernel part (what
// pt_new_root writes) is intact, kept for the next pt_new_root.
bool pt_root_cache_room();
void pt_root_cache_put(uint64_t root);

// A fresh root for a new address space: the kernel's entries copied from
// `kernel_root` (low region, physmap), user space empty. 0 on OOM.
uint64_t pt_new_root(uint64_t kernel_root);

// Does the entry hold a frame (present, or made PROT_NONE)?
inline bool pte_has_frame(uint64_t e) { return e & (pte::kPresent | pte::kProtNone); }

// Calls fn(va, entry&) for every 4 KiB entry in [a, b) that holds a frame. Entries
// may be modified in place; the caller owns TLB consequences.
template <typename F>
void pt_for_each(uint64_t root, uint64_t a, uint64_t b, F fn);
// Calls fn(va, pde&) for every 2 MiB entry of user space wholly inside
// [a, b) (pt_for_each skips them). Same rules.
template <typename F>
void pt_for_each_huge(uint64_t root, uint64_t a, uint64_t b, F fn);

}  // namespace lightvm::guest

#include "kernel/mm/page_table_inl.hpp"
