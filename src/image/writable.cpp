#include "image/writable.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "image/tree.hpp"

namespace lightvm::image {

namespace {

Result<void> write_proc(const char* file, const std::string& text) {
    UniqueFd fd(::open(file, O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return sys_error(std::string("write ") + file);
    return {};
}

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

Result<void> enter_private_mounts() {
    const bool root = ::geteuid() == 0;
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(root ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return sys_error(root ? "unshare(CLONE_NEWNS)" : "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
    if (!root) {
        // Ourselves as ourselves: files keep their owners on the host.
        TRY(write_proc("/proc/self/setgroups", "deny"));
        TRY(write_proc("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1"));
        TRY(write_proc("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1"));
    }
    // Our mounts stay ours; the host's still reach us.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
        return sys_error("mount --make-rslave /");
    return {};
}

Result<void> mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                           const std::string& target, bool in_user_namespace) {
    // Through /proc/self/fd: paths holding ',' or ':' need no escaping.
    UniqueFd l(::open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd u(::open(upper.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd w(::open(work.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!l.valid() || !u.valid() || !w.valid())
        return sys_error("open overlay layers");
    auto fd_path = [](const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); };
    std::string options = "lowerdir=" + fd_path(l) + ",upperdir=" + fd_path(u) + ",workdir=" + fd_path(w);
    if (in_user_namespace)
        options += ",userxattr";
    if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, options.c_str()) != 0)
        return sys_error("mount overlay");
    return {};
}

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
        out.warning = "no overlay file system for the image's writable layer (" + mounted.error().to_string() +
                      "): its root is read-only, /tmp, /run and /var/tmp are tmpfs in guest RAM";
        return out;
    }
    out.root = dir;
    out.read_only = false;
    return out;
}

}  // namespace lightvm::image
