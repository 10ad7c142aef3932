#include "monitor/process_setup.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "monitor/vm.hpp"

namespace lightvm {

namespace {
void on_stop_signal(int sig) { request_stop(sig); }
}  // namespace

void prepare_monitor_process() {
    std::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    ::umask(0);
    rlimit nofile;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
}

}  // namespace lightvm
