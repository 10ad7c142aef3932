// A snapshot's working set (PATH.ws, docs/snapshot-format.md "Working
// set"): the guest pages one restored VM touched, recorded at its end
// (`lightvm run --restore PATH --record-working-set`), so that later
// restores with --prefault back exactly those pages before the first
// instruction instead of every saved page, or none.
//
// File: "LVMWSET1", the snapshot's mem_tag (u64), the range count (u32),
// 0 (u32), then per range: first page's guest-physical address (u64), pages
// (u32), flags (u32: kWritten), and an FNV-1a of everything before it (u64).
// Little-endian, as the state file. Pure: no KVM, no files.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace lightvm::snapshot {

struct WsRange {
    uint64_t gpa;    // page aligned
    uint32_t pages;
    uint32_t flags;  // kWritten: the guest wrote it (a private copy), else only read
    bool operator==(const WsRange&) const = default;
};
inline constexpr uint32_t kWritten = 1;

// From /proc/self/pagemap entries of guest RAM (one u64 per page from gpa
// 0): present pages, consecutive ones with the same kind joined. A present
// page that is not a file page (bit 61 clear) was written (copy-on-write).
std::vector<WsRange> ws_from_pagemap(std::span<const uint64_t> entries);

std::vector<uint8_t> ws_encode(const std::vector<WsRange>& ranges, uint64_t mem_tag);
// Every check: magic, size, checksum, the snapshot's tag, ranges sorted,
// disjoint and inside mem_size. Errors are BadInput, one line.
Result<std::vector<WsRange>> ws_decode(std::span<const uint8_t> bytes, uint64_t mem_tag, uint64_t mem_size);

}  // namespace lightvm::snapshot
