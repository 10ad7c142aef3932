// Physical frames: a buddy allocator over the guest RAM above the program
// image (BootInfo.frames_start .. mem_size). `--mem` is the limit on these
// frames, not on address space: running out is ENOMEM or an OOM report,
// never a host OOM.
//
// Frames that were never handed out are still zero (fresh memfd pages) and
// are taken by a bump pointer in address order, so a new mapping usually
// gets physically contiguous frames (one hypercall per file read, and 2 MiB
// blocks for huge pages). Freed frames go to per-order free lists and are
// zeroed when reused. The metadata (12 bytes a frame) sits at the start of
// the pool and is touched only for frames in use: boot cost does not grow
// with --mem.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

inline constexpr unsigned kMaxOrder = 9;  // 2 MiB: the largest page the kernel maps

// [start, end): page-aligned guest-physical range of the pool.
void frames_init(uint64_t start, uint64_t end);
// The pool ends at `end` after all (the boot program's file and arguments
// sit above it, placed once the shell had booted). False if frames at or
// above `end` were already handed out.
bool frames_limit(uint64_t end);
// Where the pool hands out next: frames from here up are untouched.
uint64_t frames_next();

// The largest block order (at most kMaxOrder) that `pages` pages fill.
inline unsigned frame_order_for(uint64_t pages) {
    unsigned o = 0;
    while (o < kMaxOrder && (2ull << o) <= pages)
        ++o;
    return o;
}

// A zeroed block of 2^order frames with one reference on its head, or 0.
uint64_t frame_alloc(unsigned order);
// A zeroed block whose frames are then independent (each its own
// reference, freed one by one): how mappings are populated in bulk.
uint64_t frame_alloc_split(unsigned order);
// Drops one reference on each of the 2^order frames from gpa (a block of
// frame_alloc_split: a 2 MiB entry's frames going).
void frame_unref_each(uint64_t gpa, unsigned order);
// One more mapping shares the frame (fork, shared image pages).
void frame_ref(uint64_t gpa);
// Drops a reference; the block is freed with its last one. Frames outside
// the pool (the boot image, the kernel) are not counted and never freed.
void frame_unref(uint64_t gpa);
uint32_t frame_refs(uint64_t gpa);
bool frame_in_pool(uint64_t gpa);

// Called when no block is free, to give back at least `pages` frames that
// only a cache holds (fs/page_cache.hpp); returns how many it freed.
void frames_set_reclaim(uint64_t (*reclaim)(uint64_t pages));

uint64_t frames_total();  // pages in the pool (metadata excluded)
uint64_t frames_free();   // pages not handed out

// RAM the monitor already backs (abi.h HcMemGrow): [0, low_end) and
// [high_start, mem_size). Hosted tests pass ~0 to skip the hypercall.
void memory_set_backed(uint64_t low_end, uint64_t high_start);

}  // namespace lightvm::guest
