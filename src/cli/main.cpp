// lightvm: parse arguments, dispatch to one subcommand, map to an exit code.
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <variant>

#include "cli/daemon_run.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_run.hpp"
#include "cli/options.hpp"
#include "cli/run_command.hpp"
#include "cli/vm_commands.hpp"
#include "common/exit_codes.hpp"

int main(int argc, char** argv) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const uint64_t start_ns = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);

    // If the caller closed fd 0/1/2, our own files (the KVM fds, guest RAM)
    // would land there and guest I/O would hit them. Park /dev/null there and
    // tell the guest those streams are closed.
    bool closed[3];
    for (int fd = 0; fd < 3; ++fd) {
        closed[fd] = fcntl(fd, F_GETFD) < 0 && errno == EBADF;
        if (closed[fd] && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
            return 125;
    }

    if (argc > 1 && lightvm::cli::is_vm_command(argv[1]))
        return lightvm::cli::vm_command_main(argc, argv);
    if (argc > 1 && std::string_view(argv[1]) == "image")
        return lightvm::cli::image_command_main(argc, argv);
    auto command = lightvm::cli::parse_command_line(argc, argv);
    if (!command) {
        std::fprintf(stderr, "lightvm: %s\n", command.error().to_string().c_str());
        return command.error().kind == lightvm::ErrorKind::BadInput ? 2 : 125;
    }
    if (auto* help = std::get_if<lightvm::cli::HelpRequested>(&*command)) {
        std::fputs(help->text.c_str(), help->exit_code ? stderr : stdout);
        return help->exit_code;
    }
    if (std::holds_alternative<lightvm::cli::VersionRequested>(*command)) {
        std::puts("lightvm " LIGHTVM_VERSION);
        return 0;
    }
    auto& run = std::get<lightvm::cli::RunCommand>(*command);
    std::copy(closed, closed + 3, run.config.stdio_closed);
    if (run.image)
        if (auto prepared = run.create_only || run.detach ? lightvm::cli::prepare_image_for_daemon(run)
                                                          : lightvm::cli::prepare_image_run(run);
            !prepared) {
            std::fprintf(stderr, "lightvm: %s\n", prepared.error().to_string().c_str());
            return lightvm::exit_code_for(prepared.error());
        }
    if (run.create_only || run.detach)
        return lightvm::cli::create_through_daemon(run);
    if (lightvm::cli::daemon_run_possible(run))
        if (auto status = lightvm::cli::run_through_daemon(run))
            return *status;
    return lightvm::cli::run_command(run, start_ns);
}
