// An open file description: Linux's "struct file". dup() and fork share
// one (and its offset); the fd slot only adds FD_CLOEXEC. What it does is
// in its FileOps (file_ops.hpp).
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
    SynthDir,    // synthetic "/" when no --rootfs: lists the mount points
    PipeRead,
    PipeWrite,
    Fifo,       // a named pipe in a share: its data lives here (fs/pipe.cpp)
    DevNull,
    DevZero,
    DevFull,
    DevRandom,  // /dev/random and /dev/urandom (device: the minor)
    Block,      // --disk device
    Synthetic,  // read-only text made by the kernel (/proc/mounts), in `text`
    Socket,     // kernel/net/: `sock`
    TmpFile,    // a file in a tmpfs (fs/tmpfs.cpp): handle = inode index
    TmpDir,     // a directory in a tmpfs: handle = inode index, path as HostDir
    EventFd,    // kernel/event/: `event` is its EventFd
    TimerFd,    // `event` is its TimerFd
    Epoll,      // `event` is its Epoll
    SignalFd,   // `event` is its SignalFd
    Inotify,    // `event` is its inotify instance (kernel/event/inotify.cpp)
    ReadyMark,  // /sys/devices/virtual/lightvm/ready, open for writing (dev/ready_file.cpp)
    PtyMaster,  // /dev/ptmx's new pair: `pty` (tty/pty.cpp)
    PtySlave,   // /dev/pts/N: `pty`
};

struct Pipe;
struct Socket;
struct FileOps;
struct EpItem;
struct Pty;

// Linux's "open file description". What a file does is in its FileOps
// (file_ops.hpp), chosen by kind when it is allocated; the fields below
// the common ones belong to particular kinds (like Linux's private_data).
struct OpenFile {
    FileKind kind;
    const FileOps* ops;
    uint32_t refs;
    uint32_t flags;     // O_ACCMODE | O_APPEND | O_NONBLOCK as opened
    uint32_t handle;    // host handle (HostFile/HostDir)
    uint32_t share;     // share index (HostFile/HostDir)
    uint32_t device;    // block device index
    uint32_t mode;      // st_mode from open (type bits)
    uint64_t offset;    // file position (HostFile, Block, SynthDir listing)
    Pipe* pipe;
    char* path;         // guest absolute path of a directory (HostDir/SynthDir), from a pool
    long deferred_error;  // write-behind error to report on the next call (file_cache.cpp)
    const char* text;     // Synthetic: contents (kernel memory, stable while open)
    uint32_t text_len;
    uint32_t text_cap;    // Synthetic: non-zero when `text` is kmem this file owns (freed on release)
    Socket* sock;         // Socket
    void* event;          // EventFd/TimerFd/Epoll/SignalFd: the object (kernel/event/)
    Pty* pty;             // PtyMaster/PtySlave: the pair (kernel/tty/pty_pool.hpp)
    // epoll items watching this file (kernel/event/epoll.cpp); they leave
    // their interest lists when the last reference goes, as on Linux.
    EpItem* ep_watchers;
    // HostDir (dir_cache.hpp): its own copy of the directory's listing,
    // which getdents reads from at `offset`, or nullptr; dir_fresh until
    // the first getdents. A directory opened from the listing cache has
    // no host handle (kNoHandle) until an operation needs one; rel_at is
    // where its share-relative path starts in `path`.
    uint8_t* listing;
    uint32_t listing_len;
    uint16_t rel_at;
    bool dir_fresh;
};

}  // namespace lightvm::guest
