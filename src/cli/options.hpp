// Command-line parsing: turns argv into a Command value. No VM logic here.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "monitor/config.hpp"

namespace lightvm::cli {

struct RunCommand {
    VmConfig config;  // config.stats: --stats
};
struct HelpRequested {
    std::string text;
    int exit_code = 0;
};
struct VersionRequested {};

using Command = std::variant<RunCommand, HelpRequested, VersionRequested>;

Result<Command> parse_command_line(int argc, char** argv);

}  // namespace lightvm::cli
