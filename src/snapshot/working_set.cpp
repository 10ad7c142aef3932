#include "snapshot/working_set.hpp"

#include <cstring>
#include <string>

#include "snapshot/format.hpp"

namespace lightvm::snapshot {

namespace {

constexpr char kWsMagic[8] = {'L', 'V', 'M', 'W', 'S', 'E', 'T', '1'};
constexpr size_t kHeader = 8 + 8 + 4 + 4, kRange = 16, kTrailer = 8;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kPresent = 1ull << 63, kFilePage = 1ull << 61;

template <class T>
void put(std::vector<uint8_t>& out, T v) {
    const size_t at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
}

template <class T>
T get(std::span<const uint8_t> in, size_t at) {
    T v;
    std::memcpy(&v, in.data() + at, sizeof v);
    return v;
}

Result<std::vector<WsRange>> bad(const std::string& why) {
    return make_error(ErrorKind::BadInput, "working set", why);
}

}  // namespace

std::vector<WsRange> ws_from_pagemap(std::span<const uint64_t> entries) {
    std::vector<WsRange> out;
    for (uint64_t i = 0; i < entries.size(); ++i) {
        const uint64_t e = entries[i];
        if (!(e & kPresent))
            continue;
        const uint32_t flags = (e & kFilePage) ? 0 : kWritten;
        if (!out.empty() && out.back().flags == flags && out.back().gpa + out.back().pages * kPage == i * kPage)
            out.back().pages++;
        else
            out.push_back({i * kPage, 1, flags});
    }
    return out;
}

std::vector<uint8_t> ws_encode(const std::vector<WsRange>& ranges, uint64_t mem_tag) {
    std::vector<uint8_t> out(sizeof kWsMagic);
    std::memcpy(out.data(), kWsMagic, sizeof kWsMagic);
    put(out, mem_tag);
    put(out, static_cast<uint32_t>(ranges.size()));
    put(out, uint32_t{0});
    for (const WsRange& r : ranges) {
        put(out, r.gpa);
        put(out, r.pages);
        put(out, r.flags);
    }
    put(out, fnv1a(out));
    return out;
}

Result<std::vector<WsRange>> ws_decode(std::span<const uint8_t> in, uint64_t mem_tag, uint64_t mem_size) {
    if (in.size() < kHeader + kTrailer || std::memcmp(in.data(), kWsMagic, sizeof kWsMagic) != 0)
        return bad("not a lightvm working-set file (bad magic)");
    const uint32_t count = get<uint32_t>(in, 16);
    if (in.size() != kHeader + uint64_t{count} * kRange + kTrailer)
        return bad("truncated or oversized (" + std::to_string(in.size()) + " bytes for " + std::to_string(count) +
                   " ranges)");
    if (get<uint64_t>(in, in.size() - kTrailer) != fnv1a(in.first(in.size() - kTrailer)))
        return bad("checksum mismatch");
    if (get<uint64_t>(in, 8) != mem_tag)
        return bad("recorded from another snapshot");
    std::vector<WsRange> out;
    uint64_t end = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const size_t at = kHeader + size_t{i} * kRange;
        WsRange r{get<uint64_t>(in, at), get<uint32_t>(in, at + 8), get<uint32_t>(in, at + 12)};
        if (r.gpa % kPage || r.pages == 0 || (r.flags & ~kWritten) || r.gpa < end || r.gpa > mem_size ||
            r.pages > (mem_size - r.gpa) / kPage)
            return bad("range " + std::to_string(i) + " is unaligned, out of order or outside guest memory");
        end = r.gpa + r.pages * kPage;
        out.push_back(r);
    }
    return out;
}

}  // namespace lightvm::snapshot
