// Command-line parsing: turns argv into a Command value. No VM logic here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "monitor/config.hpp"

namespace lightvm::cli {

// `run --image IMAGE [CMD...]` (cli/image_run): the root, program,
// environment, working directory and user come from a container image.
struct ImageRun {
    std::string ref;                        // a path (imported on the fly) or a name/ID in the cache
    std::optional<std::string> entrypoint;  // --entrypoint
    std::vector<std::string> cmd;           // after the options: replaces the image's Cmd
    bool workdir_given = false;             // -w: the image's WorkingDir does not apply
    bool user_given = false;                // -u: the image's User does not apply
    bool read_only = false;                 // --read-only: no writable layer
};

struct RunCommand {
    VmConfig config;  // config.stats: --stats
    // The monitor process's sandbox (sandbox/sandbox.hpp); --no-sandbox: off.
    bool sandbox = true;
    std::optional<uint32_t> uid, gid;  // --uid/--gid
    // Through lightvmd (cli/vm_commands): `create`, or `run -d`.
    bool create_only = false;
    bool detach = false;
    bool auto_remove = false;  // --rm
    std::string name;          // --name
    std::string socket;        // --socket (default: daemon/paths.hpp)
    bool no_daemon = false;    // --no-daemon: never through lightvmd (cli/daemon_run)
    std::string save_path;     // --save PATH: state file; PATH.mem holds guest memory
    bool record_working_set = false;  // --record-working-set: --restore PATH's PATH.ws
    std::optional<ImageRun> image;  // --image
};
struct HelpRequested {
    std::string text;
    int exit_code = 0;
};
struct VersionRequested {};

using Command = std::variant<RunCommand, HelpRequested, VersionRequested>;

Result<Command> parse_command_line(int argc, char** argv);

}  // namespace lightvm::cli
