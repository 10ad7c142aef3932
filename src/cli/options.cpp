#include "cli/options.hpp"

#include <CLI/CLI.hpp>

namespace lightvm::cli {

namespace {

Result<double> parse_seconds(const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0) || v > 1e9)
        return make_error(ErrorKind::BadInput, "--timeout", "invalid number of seconds '" + text + "'");
    return v;
}

// Position of a "--" that ends lightvm's own `run` options, or -1. Options
// that take a separate value (--mem 64M) are stepped over.
int find_double_dash(int argc, char** argv) {
    int i = 1;
    while (i < argc && std::string_view(argv[i]) != "run")
        ++i;
    for (++i; i < argc; ++i) {
        std::string_view a(argv[i]);
        if (a == "--")
            return i;
        if (a.empty() || a[0] != '-')
            return -1;  // APP reached: a later "--" belongs to the guest
        if (a == "--mem" || a == "--env" || a == "--timeout")
            ++i;
    }
    return -1;
}

}  // namespace

Result<Command> parse_command_line(int argc, char** argv) {
    // "lightvm run [OPTIONS] -- APP ARGS": split before CLI11 sees it.
    std::vector<std::string> after_dash;
    if (int dash = find_double_dash(argc, argv); dash > 0) {
        after_dash.assign(argv + dash + 1, argv + argc);
        argc = dash;
        if (after_dash.empty())
            return make_error(ErrorKind::BadInput, "usage", "lightvm run: missing APP after '--'");
    }
    CLI::App app{"lightvm: run a static Linux executable in its own micro-VM", "lightvm"};
    app.require_subcommand(0, 1);
    bool version = false;
    app.add_flag("--version", version, "Print the version and exit");

    RunCommand run;
    std::string mem, timeout;
    auto* sub = app.add_subcommand("run", "Boot APP in a fresh micro-VM; its exit status becomes ours");
    sub->add_option("--mem", mem, "Guest memory (e.g. 256M, 1G); default 256M");
    sub->add_option("--env", run.config.env, "Set an environment variable in the guest (KEY=VALUE), repeatable")
        ->allow_extra_args(false);
    sub->add_option("--timeout", timeout, "Stop the guest after S seconds (exit status 124)");
    sub->add_flag("--trace", run.config.trace, "Print each guest system call to stderr, strace-style");
    sub->add_flag("--stats", run.stats, "Print boot time, exits by kind and memory touched to stderr");
    sub->prefix_command();  // everything from APP on belongs to the guest
    sub->footer("Usage: lightvm run [OPTIONS] APP [ARGS...]\nExit status: the guest's; 124 timeout; "
                "125 lightvm error; 126 APP cannot be executed; 127 APP not found; 128+N guest killed by signal N.");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return Command{HelpRequested{app.help(), 0}};
    } catch (const CLI::CallForAllHelp&) {
        return Command{HelpRequested{app.help("", CLI::AppFormatMode::All), 0}};
    } catch (const CLI::ParseError& e) {
        return make_error(ErrorKind::BadInput, "usage", e.what());
    }
    if (version)
        return Command{VersionRequested{}};
    if (!sub->parsed())
        return Command{HelpRequested{app.help(), 2}};

    auto rest = sub->remaining();
    if (!after_dash.empty()) {
        if (!rest.empty())
            return make_error(ErrorKind::BadInput, "usage", "unexpected argument '" + rest.front() + "' before '--'");
        rest = after_dash;
    } else if (rest.empty())
        return make_error(ErrorKind::BadInput, "usage", "lightvm run: missing APP (try lightvm run --help)");
    if (after_dash.empty() && rest.front().size() > 1 && rest.front()[0] == '-')
        return make_error(ErrorKind::BadInput, "usage", "unknown option '" + rest.front() + "' (try lightvm run --help)");
    run.config.app_path = rest.front();
    run.config.argv.assign(rest.begin(), rest.end());
    if (!mem.empty()) {
        auto size = parse_size(mem);
        if (!size)
            return make_error(ErrorKind::BadInput, "--mem", size.error().message);
        run.config.mem_size = *size;
    }
    if (!timeout.empty())
        run.config.timeout_seconds = TRY(parse_seconds(timeout));
    run.config.stats = run.stats;
    run.config = TRY(validate(std::move(run.config)));
    return Command{std::move(run)};
}

}  // namespace lightvm::cli
