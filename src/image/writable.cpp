#include "image/writable.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "image/overlay.hpp"
#include "image/tree.hpp"

namespace lightvm::image {

namespace {

// The cleaner: waits until every copy of the pipe's write end is closed
// (this process and its fast_exit reaper have exited), then removes `dir`.
// Signals to the terminal's process group are not for it (setsid).
[[noreturn]] void cleaner(int wait_fd, int lock_fd, const std::string& dir) {
    ::setsid();
    ::prctl(PR_SET_NAME, "lightvm-clean");
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd)
        if (null >= 0 && null != fd)
            ::dup2(null, fd);
    // Keep only the pipe and the run directory's lock (EINVAL for empty ranges is harmless).
    const unsigned a = static_cast<unsigned>(std::min(wait_fd, lock_fd));
    const unsigned b = static_cast<unsigned>(std::max(wait_fd, lock_fd));
    ::close_range(3, a - 1, 0);
    ::close_range(a + 1, b - 1, 0);
    ::close_range(b + 1, ~0u, 0);
    for (char byte;;) {
        ssize_t n = ::read(wait_fd, &byte, 1);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    for (int attempt = 0; attempt < 20 && !remove_tree(dir); ++attempt)
        ::usleep(50000);
    ::_exit(0);
}

// Forks the cleaner; the write end stays open in this process for its life.
Result<void> start_cleaner(const Scratch& run) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0)
        return sys_error("pipe");
    pid_t pid = ::fork();
    if (pid < 0)
        return sys_error("fork");
    if (pid == 0) {
        ::close(pipefd[1]);
        cleaner(pipefd[0], run.lock_fd(), run.path());
    }
    // pipefd[1] is never closed: its closing at our exit is the cleaner's signal.
    ::close(pipefd[0]);
    return {};
}

Result<void> make_subdirs(const std::string& run) {
    for (const char* sub : {"/upper", "/work"})
        if (::mkdir((run + sub).c_str(), 0755) != 0)
            return sys_error("mkdir " + run + sub);
    return {};
}

}  // namespace

Result<WritableRoot> writable_root(const Store& store, const Digest& id, bool read_only) {
    WritableRoot out;
    out.root = store.rootfs(id);
    out.read_only = true;
    if (read_only)
        return out;
    store.collect_garbage();
    Scratch run = TRY(store.scratch("run"));
    TRY(make_subdirs(run.path()));
    TRY(start_cleaner(run));
    const std::string dir = run.path();
    // The cleaner removes the directory now. Our copy of its lock stays
    // open for our life, so that no garbage collection takes it from a
    // running VM even if the cleaner was killed.
    (void)run.take_lock().release();
    run.keep();
    auto mounted = enter_private_mounts().and_then([&] {
        // On the run directory itself: one mkdir less (~0.17 ms here); upper/
        // and work/ stay visible outside this mount namespace, for the cleaner.
        return mount_overlay(out.root, dir + "/upper", dir + "/work", dir, ::geteuid() != 0);
    });
    if (!mounted) {
        out.warning = no_overlay_warning(mounted.error());
        return out;
    }
    out.root = dir;
    out.read_only = false;
    return out;
}

}  // namespace lightvm::image
