// What an open file does, per kind: one table of operations per file type,
// each implemented beside its type (fs/host_files.cpp, fs/pipe.cpp,
// fs/synthetic_files.cpp, dev/console_files.cpp, dev/mem_files.cpp,
// dev/block_file.cpp), picked by kind in one registry (file_ops.cpp). The
// file_* functions are what syscalls call: they apply the checks every
// type shares (access mode) and dispatch. A null operation means "not
// supported" with the error Linux gives for it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/open_file.hpp"
#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

struct WaitQueue;


struct FileOps {
    // at < 0: at the file's offset (advancing it), else positioned.
    long (*read)(OpenFile* f, void* buf, size_t len, int64_t at);
    long (*write)(OpenFile* f, const void* buf, size_t len, int64_t at);
    long (*seek)(OpenFile* f, int64_t offset, int whence);  // null: ESPIPE
    long (*stat)(OpenFile* f, Stat* out);                   // out: kernel or checked user memory
    long (*sync)(OpenFile* f, bool data_only);              // null: nothing to do
    long (*ioctl)(OpenFile* f, uint64_t request, uint64_t arg);  // null: ENOTTY
    int (*poll)(OpenFile* f);                               // null: always readable and writable (no epoll: EPERM)
    WaitQueue* (*wait_queue)(OpenFile* f);                  // where to sleep until poll changes
    long (*release)(OpenFile* f);                           // last reference gone
    bool tty;                                               // may be a terminal (file_is_tty asks further)
    bool seekable;                                          // pread/pwrite allowed
};

// The operations for a kind (never null).
const FileOps* file_ops_for(FileKind kind);

// What happened to an open file, for inotify: kernel/event/inotify.cpp
// registers the hook with its first instance (until then nothing is done).
enum class FileEvent : uint8_t { Access, Modify, Attrib, Closed };
void file_set_notify(void (*fn)(OpenFile* f, FileEvent e));
void file_notify(OpenFile* f, FileEvent e);
inline long file_notify_if(long r, OpenFile* f, FileEvent e) {  // after a call: only when it succeeded
    if (r == 0)
        file_notify(f, e);
    return r;
}

long file_read(OpenFile* f, void* buf, size_t len, int64_t at);
long file_write(OpenFile* f, const void* buf, size_t len, int64_t at);
long file_seek(OpenFile* f, int64_t offset, int whence);
long file_stat(OpenFile* f, Stat* out);
long file_sync(OpenFile* f, bool data_only);
long file_ioctl(OpenFile* f, uint64_t request, uint64_t arg);
bool file_is_tty(const OpenFile* f);
// The one "poll a file" path: poll/ppoll/select and epoll all ask here,
// and sleep on (or, epoll, hook a wake function into) file_wait_queue.
int file_poll(OpenFile* f);
// Has the file a poll method (Linux's file_can_poll)? epoll refuses the
// others (regular files, directories, /dev/null...) with EPERM.
bool file_can_poll(const OpenFile* f);
WaitQueue* file_wait_queue(OpenFile* f);
bool file_seekable(const OpenFile* f);

// read/write of any directory: EISDIR.
long dir_read(OpenFile* f, void* buf, size_t len, int64_t at);
long dir_write(OpenFile* f, const void* buf, size_t len, int64_t at);

// lseek's SEEK_SET/SEEK_CUR/SEEK_END for a file of `size` bytes (Linux's
// generic_file_llseek_size): the new offset, or EINVAL (negative result,
// overflow, or any other whence).
long seek_within(OpenFile* f, int64_t offset, int whence, int64_t size);

// The per-type tables (one per file type, defined beside the type).
extern const FileOps kConsoleFileOps;   // Stdin, Stdout, Stderr
extern const FileOps kHostFileOps;
extern const FileOps kHostDirOps;
extern const FileOps kSynthDirOps;
extern const FileOps kSyntheticFileOps;
extern const FileOps kPipeReadOps;
extern const FileOps kPipeWriteOps;
extern const FileOps kFifoOps;
extern const FileOps kDevNullOps;
extern const FileOps kDevZeroOps;
extern const FileOps kDevFullOps;
extern const FileOps kReadyMarkOps;
extern const FileOps kDevRandomOps;
extern const FileOps kBlockFileOps;
extern const FileOps kSocketOps;      // kernel/net/socket.cpp
extern const FileOps kTmpFileOps;
extern const FileOps kTmpDirOps;
extern const FileOps kEventFdOps;     // kernel/event/eventfd.cpp
extern const FileOps kTimerFdOps;     // kernel/event/timerfd.cpp
extern const FileOps kEpollOps;       // kernel/event/epoll.cpp
extern const FileOps kSignalFdOps;    // kernel/event/signalfd.cpp
extern const FileOps kInotifyOps;     // kernel/event/inotify.cpp
extern const FileOps kPtyMasterOps;   // kernel/tty/pty.cpp
extern const FileOps kPtySlaveOps;

}  // namespace lightvm::guest
