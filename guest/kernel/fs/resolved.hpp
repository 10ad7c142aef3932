// What path resolution found (fs/vfs.hpp): a special file the kernel
// provides, a path inside a host share, or one inside a tmpfs. Its own
// header so the file systems it names need not include the resolver.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/proc_files.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

// The entries of a /proc/PID directory (and of /proc/PID/task/TID).
enum class PidFile : uint8_t {
    Dir, FdDir, TaskDir, Exe, Cwd, Stat, Status, Cmdline, Comm, Environ, Statm, Maps, Mounts, Auxv, Count
};

// A name that is a link whose target the kernel makes up: lstat reports a
// link, readlink its text (proc_link_text), everything else follows it
// (vfs_resolve already did).
enum class ProcLink : uint8_t { None, Self, ThreadSelf, Cwd, Exe, Fd };

enum class Special : uint8_t {
    None, DevNull, DevZero, DevFull, DevRandom, DevTty, Block, SelfExe,
    DevPtmx,     // /dev/ptmx: a new pty pair (tty/pty.hpp)
    DevConsole,  // /dev/console: the VM's stdio (dev/console_node.hpp)
    PtsSlave,    // /dev/pts/N: the slave; N in Resolved::minor
    Fd,          // /dev/fd/N, /proc/self/fd/N, /dev/stdin|stdout|stderr: descriptor `fd`
    SynthDir,    // a kernel directory (fs/synthetic_dirs.hpp)
    ProcMounts,  // /proc/mounts, /proc/self/mounts: the mount table, for df and mount
    ProcMaps,    // /proc/self/maps: the address space's regions
    ProcText,    // /proc/cpuinfo, /proc/meminfo, ... (fs/proc_files.hpp): which one in Resolved::proc
    ProcPid,     // /proc/PID/stat, status, ... (fs/proc_pid.hpp): Resolved::pid and pid_file
};

struct Resolved {
    Special special;
    uint32_t block;             // Special::Block: device index
    ProcFile proc;              // Special::ProcText: which file
    uint32_t minor;             // Special::DevRandom: 8 random, 9 urandom; PtsSlave: N
    long fd;                    // Special::Fd: the descriptor
    uint32_t pid;               // under /proc/PID (Fd, SelfExe, ProcMaps, ProcPid, SynthDir); 0: the caller
    PidFile pid_file;           // Special::ProcPid: which file
    ProcLink link;              // the last component was a /proc magic link (lstat, readlink)
    uint32_t link_pid;          // ... of this process
    bool rewritten;             // abs went through a /proc magic link: it is final (no physical tail)
    bool in_share;
    uint32_t share;
    bool in_tmpfs;              // a guest-memory file system (fs/tmpfs.hpp); rel is the path inside
    uint32_t tmpfs;
    bool read_only;
    bool trailing_slash;        // "dir/": must be a directory
    size_t abs_len;
    char abs[abi::kMaxPath];    // lexically normalised absolute guest path (mounts, specials, cache keys)
    const char* rel;            // path inside the share ("" = share root), into abs or relbuf
    size_t rel_len;
    // True when `.`/`..` after a component inside the share were kept for
    // the monitor to resolve physically (after symlinks, as Linux does):
    // then `abs` may not name the same file, so caches keyed by it are skipped.
    bool physical;
    char relbuf[abi::kMaxPath];
};

}  // namespace lightvm::guest
