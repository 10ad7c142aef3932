// Extended attributes of tmpfs inodes, in guest memory. Each inode's
// attributes are one packed buffer (kmem: whole frames) of records
// [u16 name length][u32 value length][name][value]; sets and removes
// rewrite it in place. Few files carry attributes, and few of them.
#include "kernel/fs/tmpfs_xattr.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/uapi.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

namespace {

constexpr uint32_t kCreate = 1, kReplace = 2;  // XATTR_CREATE, XATTR_REPLACE
constexpr uint64_t kHeader = 6;
// Per inode; beyond it ENOSPC (Linux's tmpfs bounds them by its size).
constexpr uint64_t kMaxBytes = 256 * 1024;

struct Attrs {
    uint8_t* buf;
    uint32_t len, cap;
};
Attrs* g_attrs;  // [kTmpfsMaxInodes], allocated with the first attribute

uint32_t name_len_at(const uint8_t* r) { return static_cast<uint32_t>(r[0] | r[1] << 8); }
uint32_t value_len_at(const uint8_t* r) {
    return static_cast<uint32_t>(r[2] | r[3] << 8 | r[4] << 16 | static_cast<uint32_t>(r[5]) << 24);
}
uint32_t record_len(const uint8_t* r) { return static_cast<uint32_t>(kHeader) + name_len_at(r) + value_len_at(r); }

// Offset of the record named `name` in a, or -1.
long find(const Attrs& a, const char* name, size_t len) {
    for (uint32_t off = 0; off < a.len; off += record_len(a.buf + off)) {
        const uint8_t* r = a.buf + off;
        if (name_len_at(r) == len && memcmp(r + kHeader, name, len) == 0)
            return off;
    }
    return -1;
}

void remove_at(Attrs& a, uint32_t off) {
    uint32_t n = record_len(a.buf + off);
    memmove(a.buf + off, a.buf + off + n, a.len - off - n);
    a.len -= n;
}

bool reserve(Attrs& a, uint64_t need) {
    if (need <= a.cap)
        return true;
    uint64_t cap = (need + 4095) & ~4095ull;
    auto* buf = static_cast<uint8_t*>(kmem_alloc(cap));
    if (!buf)
        return false;
    if (a.buf) {
        memcpy(buf, a.buf, a.len);
        kmem_free(a.buf, a.cap);
    }
    a.buf = buf;
    a.cap = static_cast<uint32_t>(cap);
    return true;
}

long get(const Attrs& a, const char* name, size_t len, uint8_t* out, uint64_t size) {
    long off = a.buf ? find(a, name, len) : -1;
    if (off < 0)
        return -err::kNoData;
    const uint8_t* r = a.buf + off;
    uint32_t n = value_len_at(r);
    if (size == 0)
        return n;
    if (n > size)
        return -err::kRange;
    memcpy(out, r + kHeader + len, n);
    return n;
}

long list(const Attrs& a, uint8_t* out, uint64_t size) {
    uint64_t total = 0;
    for (uint32_t off = 0; off < a.len; off += record_len(a.buf + off))
        total += name_len_at(a.buf + off) + 1;
    if (size == 0 || total == 0)
        return static_cast<long>(total);
    if (total > size)
        return -err::kRange;
    uint64_t at = 0;
    for (uint32_t off = 0; off < a.len; off += record_len(a.buf + off)) {
        uint32_t n = name_len_at(a.buf + off);
        memcpy(out + at, a.buf + off + kHeader, n);
        out[at + n] = 0;
        at += n + 1;
    }
    return static_cast<long>(total);
}

long set(Attrs& a, const char* name, size_t len, const uint8_t* value, uint64_t size, uint32_t flags) {
    long off = a.buf ? find(a, name, len) : -1;
    if (off >= 0 && (flags & kCreate))
        return -err::kExist;
    if (off < 0 && (flags & kReplace))
        return -err::kNoData;
    uint64_t old = off >= 0 ? record_len(a.buf + off) : 0;
    uint64_t need = a.len - old + kHeader + len + size;
    if (need > kMaxBytes)
        return -err::kNoSpc;
    if (!reserve(a, need))
        return -err::kNoMem;
    if (off >= 0)
        remove_at(a, static_cast<uint32_t>(off));
    uint8_t* r = a.buf + a.len;
    r[0] = static_cast<uint8_t>(len);
    r[1] = static_cast<uint8_t>(len >> 8);
    for (int i = 0; i < 4; ++i)
        r[2 + i] = static_cast<uint8_t>(size >> (8 * i));
    memcpy(r + kHeader, name, len);
    memcpy(r + kHeader + len, value, size);
    a.len += static_cast<uint32_t>(kHeader + len + size);
    return 0;
}

}  // namespace

long tmpfs_xattr_op(uint32_t ino, uint32_t type, uint32_t op, const char* name, size_t name_len, uint8_t* value,
                    uint64_t size, uint32_t flags) {
    bool user = op == abi::kXattrList || (name_len > 5 && memcmp(name, "user.", 5) == 0);
    if (!user)
        return -err::kOpNotSupp;
    if (!g_attrs) {
        if (op == abi::kXattrGet || op == abi::kXattrRemove)
            return -err::kNoData;
        if (op == abi::kXattrList)
            return 0;
        g_attrs = static_cast<Attrs*>(kmem_alloc(sizeof(Attrs) * kTmpfsMaxInodes));
        if (!g_attrs)
            return -err::kNoMem;
    }
    Attrs& a = g_attrs[ino];
    switch (op) {
    case abi::kXattrGet:
        return get(a, name, name_len, value, size);
    case abi::kXattrList:
        return list(a, value, size);
    case abi::kXattrSet:
        // Linux keeps user.* attributes on regular files and directories only.
        if (type != S_IFREG && type != S_IFDIR)
            return -err::kPerm;
        return set(a, name, name_len, value, size, flags);
    case abi::kXattrRemove: {
        long off = a.buf ? find(a, name, name_len) : -1;
        if (off < 0)
            return -err::kNoData;
        remove_at(a, static_cast<uint32_t>(off));
        return 0;
    }
    }
    return -err::kInval;
}

void tmpfs_xattr_drop(uint32_t ino) {
    if (!g_attrs || !g_attrs[ino].buf)
        return;
    kmem_free(g_attrs[ino].buf, g_attrs[ino].cap);
    g_attrs[ino] = Attrs{};
}

}  // namespace lightvm::guest
