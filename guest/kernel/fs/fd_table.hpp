// Open files and the fd table. An OpenFile is Linux's "open file
// description": dup() shares it (and its offset); the fd slot only adds
// FD_CLOEXEC. Files are a fixed pool: no heap in the guest kernel.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

enum class FileKind : uint8_t {
    Free,
    Stdin,
    Stdout,
    Stderr,
    HostFile,   // regular file in a host directory share (handle)
    HostDir,    // directory in a share (handle + guest path for *at and fchdir)
    RootDir,    // synthetic "/" when no --rootfs: lists the mount points
    PipeRead,
    PipeWrite,
    DevNull,
    DevZero,
    DevRandom,
    Block,      // --disk device
    Synthetic,  // read-only text made by the kernel (/proc/mounts), in `text`
};

struct Pipe;

struct OpenFile {
    FileKind kind;
    uint32_t refs;
    uint32_t flags;     // O_ACCMODE | O_APPEND | O_NONBLOCK as opened
    uint32_t handle;    // host handle (HostFile/HostDir)
    uint32_t share;     // share index (HostFile/HostDir)
    uint32_t device;    // block device index
    uint32_t mode;      // st_mode from open (type bits)
    uint64_t offset;    // file position (HostFile, Block, RootDir listing)
    Pipe* pipe;
    char* path;         // guest absolute path of a directory (HostDir/RootDir), from a pool
    long deferred_error;  // write-behind error to report on the next call (file_cache.cpp)
    const char* text;     // Synthetic: contents (kernel memory, stable while open)
    uint32_t text_len;
};

constexpr int kMaxFds = 1024;

// A process's descriptors: slots pointing at shared open files, plus
// FD_CLOEXEC. Shared by threads (CLONE_FILES), copied by fork.
struct FdSlot {
    OpenFile* file;
    bool cloexec;
};
struct FdTable {
    FdSlot slots[kMaxFds];
};

void fd_table_init();
// New open file with one reference, or nullptr when the pool is exhausted.
OpenFile* file_alloc(FileKind kind, uint32_t flags);
void file_get(OpenFile* f);
// Drops a reference; the last one releases host handles and pipe ends and
// returns a deferred write error, if any.
long file_put(OpenFile* f);
// Gives `f` a directory path slot; false when the pool or the size is exhausted.
bool file_set_path(OpenFile* f, const char* path, size_t len);

OpenFile* fd_get(long fd);
// Installs f at the lowest free fd >= min_fd; consumes the caller's reference on success.
long fd_install(OpenFile* f, long min_fd, bool cloexec);
// Installs f at exactly `fd`, closing what was there.
long fd_install_at(OpenFile* f, long fd, bool cloexec);
long fd_close(long fd);
bool fd_cloexec(long fd);
void fd_set_cloexec(long fd, bool on);

}  // namespace lightvm::guest
