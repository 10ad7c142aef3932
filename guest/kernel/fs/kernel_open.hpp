// Files the kernel itself opens (a program's interpreter, later execve's
// executable), resolved like open(2) from the current directory.
#pragma once

namespace lightvm::guest {

struct OpenFile;

// 0 and a reference in *out (drop it with file_put), or -errno.
long kernel_open(const char* path, OpenFile** out);
// The same relative to a directory descriptor (AT_FDCWD: the cwd).
long kernel_open_at(long dirfd, const char* path, OpenFile** out);

}  // namespace lightvm::guest
