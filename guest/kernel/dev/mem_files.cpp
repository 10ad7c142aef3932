// /dev/null, /dev/zero and /dev/urandom (and /dev/random): made by the
// kernel, no exit.
#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"
#include "lib/chacha20.hpp"

namespace lightvm::guest {

ChaCha20Rng& kernel_rng();

namespace {

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
long stay_at_zero(OpenFile*, int64_t, int) { return 0; }

long null_stat(OpenFile*, Stat* out) { return synthetic_stat(out, S_IFCHR | 0666, 10, mem_rdev(3)); }
long zero_stat(OpenFile*, Stat* out) { return synthetic_stat(out, S_IFCHR | 0666, 11, mem_rdev(5)); }
long random_stat(OpenFile*, Stat* out) { return synthetic_stat(out, S_IFCHR | 0666, 12, mem_rdev(9)); }

}  // namespace

const FileOps kDevNullOps = {null_read, sink_write, stay_at_zero, null_stat, nullptr, nullptr, nullptr,
                             nullptr, nullptr, false, true};
const FileOps kDevZeroOps = {zero_read, sink_write, stay_at_zero, zero_stat, nullptr, nullptr, nullptr,
                             nullptr, nullptr, false, true};
const FileOps kDevRandomOps = {random_read, sink_write, nullptr, random_stat, nullptr, nullptr, nullptr,
                               nullptr, nullptr, false, false};

}  // namespace lightvm::guest
