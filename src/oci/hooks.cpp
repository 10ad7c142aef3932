#include "oci/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

namespace lightvm::oci {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

Result<void> run_hook(Hook hook, const char* point, const std::string& state) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        return sys_error("pipe");
    if (hook.args.empty())
        hook.args.push_back(hook.path);
    auto argv = c_strings(hook.args);
    auto envp = c_strings(hook.env);
    pid_t pid = ::fork();
    if (pid < 0)
        return sys_error("fork");
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(in[0]);
    // The state is small (far below a pipe's buffer): one write, then EOF.
    ssize_t n = ::write(in[1], state.data(), state.size());
    (void)n;  // a hook that does not read its stdin is fine
    ::close(in[1]);
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0 && hook.timeout_seconds > 0) {
        pollfd p{pidfd, POLLIN, 0};
        if (::poll(&p, 1, hook.timeout_seconds * 1000) == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            ::close(pidfd);
            return make_error(ErrorKind::System, std::string(point) + " hook " + hook.path,
                              "timed out after " + std::to_string(hook.timeout_seconds) + " s");
        }
    }
    if (pidfd >= 0)
        ::close(pidfd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    std::string why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "killed by signal " + std::to_string(WTERMSIG(status));
    return make_error(ErrorKind::System, std::string(point) + " hook " + hook.path, why);
}

}  // namespace

Result<void> run_hooks(const std::vector<Hook>& hooks, const char* point, const std::string& state) {
    for (const auto& h : hooks)
        TRY(run_hook(h, point, state));
    return {};
}

}  // namespace lightvm::oci
