// libFuzzer target: the command-line parser and config validation. The
// input is argv, split at NUL bytes; "lightvm run" is prepended half the
// time so the run options are reached.
#include <cstdint>
#include <string>
#include <vector>

#include "cli/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args{"lightvm"};
    if (size > 0 && (data[0] & 1))
        args.push_back("run");
    std::string cur;
    for (size_t i = 1; i < size; ++i) {
        if (data[i] == 0) {
            args.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    if (!cur.empty())
        args.push_back(cur);
    if (args.size() > 64)
        return 0;
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    (void)lightvm::cli::parse_command_line(static_cast<int>(args.size()), argv.data());
    return 0;
}
