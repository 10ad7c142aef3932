#include "monitor/process_setup.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "monitor/vm.hpp"

namespace lightvm {

namespace {
void on_host_signal(int sig) { request_signal(sig); }
}  // namespace

void prepare_monitor_process() {
    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa{};
    sa.sa_handler = on_host_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGWINCH, SIGCONT})
        sigaction(sig, &sa, nullptr);
    ::umask(0);
    rlimit nofile;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
}

}  // namespace lightvm
