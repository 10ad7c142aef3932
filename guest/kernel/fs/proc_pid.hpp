// /proc/PID: a directory per process in the table (zombies included, as
// Linux shows them until they are reaped), the magic links /proc/self,
// /proc/thread-self, /proc/PID/{cwd,exe,fd/N}, and the text files ps, top,
// pgrep and pidof read (stat, status, cmdline, comm, environ, statm), in
// Linux's formats (man 5 proc). Every file is a snapshot taken at open.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/dir_entry.hpp"
#include "kernel/fs/resolved.hpp"

namespace lightvm::guest {

struct Process;
struct OpenFile;


// Rewrites the magic links in the normalised path out.abs (/proc/self ->
// /proc/PID, /proc/PID/cwd -> that process's cwd, /proc/PID/task/PID/x ->
// /proc/PID/x) and classifies what is left under /proc/PID. Returns 0 with
// out.special set (or Special::None: not a /proc/PID path, resolution goes
// on with the rewritten out.abs), or -errno (ENOENT for a pid that is gone).
long proc_pid_resolve(Resolved& out);

// The text of readlink for a Resolved whose link is not None; nullptr when
// the target is gone (a zombie's cwd). Into buf of `cap` bytes.
const char* proc_link_text(const Resolved& res, char* buf, size_t cap, size_t* len);
// What readlink of /proc/PID/fd/N says for this open file: a path for files
// and directories the kernel knows the path of, "pipe:[ino]",
// "socket:[ino]", "anon_inode:[eventfd]", ...
size_t proc_fd_link(OpenFile* f, char* buf, size_t cap);

// A process's descriptor fd (another process's table), or nullptr.
OpenFile* proc_fd_get(const Process* p, long fd);

// Identities: pid directories and their entries, and fd links, above every
// fixed inode of /proc (fs/identity.hpp).
uint64_t proc_pid_ino(uint32_t pid, PidFile f);
uint64_t proc_fd_ino(uint32_t pid, long fd);

// Parses a directory of the /proc/PID tree (normalised, as an OpenFile's
// path): the pid and which directory (Dir for /proc/PID and
// /proc/PID/task/PID). False when it is not one or the process is gone.
bool proc_pid_dir(const char* dir, size_t len, uint32_t* pid, PidFile* which);

// The index-th entry of the pid directory `which` of process `pid`
// (without "." and ".."); false at the end. name points into static storage.
struct DirEntry;
bool proc_pid_dir_entry(uint32_t pid, PidFile which, uint32_t index, DirEntry* out);
// The index-th process in /proc's listing (after its fixed entries).
bool proc_pid_list_entry(uint32_t index, DirEntry* out);

// The contents of a /proc/PID text file: a kmem buffer of *cap bytes the
// open file owns; nullptr when out of kernel memory.
char* proc_pid_text(uint32_t pid, PidFile f, uint32_t* len, uint32_t* cap);

}  // namespace lightvm::guest
