// The memory devices: /dev/null, /dev/zero, /dev/full, /dev/random and
// /dev/urandom (one table each; random and urandom differ only in their
// minor, both read the kernel's ChaCha20 generator, which never blocks once
// seeded, like Linux >= 5.6). Made by the kernel, no exit.
#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"
#include "lib/chacha20.hpp"

namespace lightvm::guest {

ChaCha20Rng& kernel_rng();

namespace {

using ident::kRandomMinor;
using ident::kURandomMinor;

constexpr uint64_t kMemMajor = 1;  // Linux's major for the memory devices

uint64_t mem_rdev(uint64_t minor) { return (kMemMajor << 8) | minor; }

long null_read(OpenFile*, void*, size_t, int64_t) { return 0; }
long zero_read(OpenFile*, void* buf, size_t len, int64_t) {
    memset(buf, 0, len);
    return static_cast<long>(len);
}
long random_read(OpenFile*, void* buf, size_t len, int64_t) {
    kernel_rng().fill(buf, len);
    return static_cast<long>(len);
}
long sink_write(OpenFile*, const void*, size_t len, int64_t) { return static_cast<long>(len); }
long full_write(OpenFile*, const void*, size_t, int64_t) { return -err::kNoSpc; }  // even for 0 bytes, as Linux
long stay_at_zero(OpenFile*, int64_t, int) { return 0; }

long mem_stat(Stat* out, uint64_t ino, uint64_t minor) {
    return synthetic_stat(out, ident::kDevDev, ino, S_IFCHR | 0666, mem_rdev(minor));
}
long null_stat(OpenFile*, Stat* out) { return mem_stat(out, ident::kInoDevNull, 3); }
long zero_stat(OpenFile*, Stat* out) { return mem_stat(out, ident::kInoDevZero, 5); }
long full_stat(OpenFile*, Stat* out) { return mem_stat(out, ident::kInoDevFull, 7); }
// f->device is the minor: 8 /dev/random, 9 /dev/urandom.
long random_stat(OpenFile* f, Stat* out) {
    return f->device == kRandomMinor ? mem_stat(out, ident::kInoDevRandom, kRandomMinor)
                                     : mem_stat(out, ident::kInoDevURandom, kURandomMinor);
}

// /dev/random never blocks (the pool is seeded at boot): always ready,
// and pollable, so epoll takes it. The other memory devices have no poll
// method, as on Linux (epoll_ctl: EPERM; poll: always ready).
int random_poll(OpenFile*) { return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM; }

}  // namespace

const FileOps kDevNullOps = {null_read, sink_write, stay_at_zero, null_stat, nullptr, nullptr, nullptr,
                             nullptr, nullptr, false, true};
const FileOps kDevZeroOps = {zero_read, sink_write, stay_at_zero, zero_stat, nullptr, nullptr, nullptr,
                             nullptr, nullptr, false, true};
const FileOps kDevFullOps = {zero_read, full_write, stay_at_zero, full_stat, nullptr, nullptr, nullptr,
                             nullptr, nullptr, false, true};
const FileOps kDevRandomOps = {random_read, sink_write, nullptr, random_stat, nullptr, nullptr, random_poll,
                               nullptr, nullptr, false, false};

}  // namespace lightvm::guest
