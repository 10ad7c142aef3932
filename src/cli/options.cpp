#include "cli/options.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <climits>
#include <cstdint>

namespace lightvm::cli {

namespace {

Result<double> parse_seconds(const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0) || v > 1e9)
        return make_error(ErrorKind::BadInput, "--timeout", "invalid number of seconds '" + text + "'");
    return v;
}

// --pids N, --cpus N: a count of `what`; its range is checked with the
// rest of the config.
Result<uint32_t> parse_count(const char* option, const std::string& text, const char* what, uint32_t max) {
    uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        return make_error(ErrorKind::BadInput, option,
                          "'" + text + "' is not a number of " + what + " (1 to " + std::to_string(max) + ")");
    return v;
}

// A numeric user or group id below 2^32 - 1 (which means "unchanged" to setresuid).
Result<uint32_t> parse_id(const char* option, const std::string& text) {
    uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || v == UINT32_MAX)
        return make_error(ErrorKind::BadInput, option,
                          "'" + text + "' is not a numeric id (0 to " + std::to_string(UINT32_MAX - 1) + ")");
    return v;
}

// --user UID[:GID], numeric as in an image without /etc/passwd: GID
// defaults to 0, as docker's does there.
Result<VmConfig::User> parse_user(const std::string& text) {
    VmConfig::User u;
    size_t colon = text.find(':');
    u.uid = TRY(parse_id("--user", text.substr(0, colon)));
    if (colon != std::string::npos)
        u.gid = TRY(parse_id("--user", text.substr(colon + 1)));
    return u;
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
        if (a == "--mem" || a == "--env" || a == "--timeout" || a == "--fs" || a == "--rootfs" || a == "--disk" ||
            a == "--tmpfs" || a == "--pids" || a == "--cpus" || a == "--workdir" || a == "-w" || a == "--hostname" ||
            a == "--dns" ||
            a == "--net" || a == "-p" || a == "--publish" || a == "--uid" || a == "--gid" || a == "--user" || a == "-u" || a == "--name" || a == "--socket" ||
            a == "-e" || a == "-m" || a == "-v" || a == "--volume" || a == "--memory" || a == "--save" ||
            a == "--save-after" || a == "--restore" || a == "--image" || a == "--entrypoint")
            ++i;
    }
    return -1;
}

// Where the host's working directory appears in the guest, if it is shared;
// "/" otherwise. Makes `lightvm run --fs . APP file.txt` behave like `APP file.txt`.
std::string guest_cwd_for_host_cwd(const std::vector<ShareSpec>& shares) {
    char buf[4096];
    if (!::getcwd(buf, sizeof buf))
        return "/";
    std::string cwd = buf;
    std::string best = "/";
    size_t best_len = 0;
    for (const auto& s : shares) {
        char real[4096];
        if (!::realpath(s.host_path.c_str(), real))
            continue;
        std::string host = real;
        bool under = cwd == host || (cwd.size() > host.size() && cwd.compare(0, host.size(), host) == 0 &&
                                     (host == "/" || cwd[host.size()] == '/'));
        if (under && host.size() >= best_len) {
            std::string rest = cwd.substr(host == "/" ? 0 : host.size());
            auto g = normalise_guest_path(s.guest_path + "/" + rest);
            if (g) {
                best = *g;
                best_len = host.size();
            }
        }
    }
    return best;
}

}  // namespace

Result<Command> parse_command_line(int argc, char** argv_in) {
    // `lightvm create OPTIONS APP ARGS` takes exactly `run`'s options.
    std::vector<char*> args(argv_in, argv_in + argc);
    static char run_word[] = "run";
    const bool create = argc > 1 && std::string_view(args[1]) == "create";
    if (create)
        args[1] = run_word;
    char** argv = args.data();
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
    std::string mem, timeout, rootfs, workdir, pids, cpus, user;
    std::vector<std::string> shares, disks, publish, tmpfs;
    std::string net;
    auto* sub = app.add_subcommand("run", "Boot APP in a fresh micro-VM; its exit status becomes ours");
    run.create_only = create;
    sub->add_option("-m,--mem,--memory", mem, "Guest memory (e.g. 256M, 1G); default 256M")->type_name("SIZE");
    sub->add_option("-e,--env", run.config.env, "Set an environment variable in the guest, repeatable")
        ->allow_extra_args(false)
        ->type_name("KEY=VALUE");
    sub->add_option("--timeout", timeout, "Stop the guest after S seconds (exit status 124)")->type_name("S");
    sub->add_option("--fs,-v,--volume", shares,
                    "Share a host directory or a single file (default GUESTPATH: its host path), repeatable; OPTS: ro, rw, "
                    "mapped (owners and modes kept in user.lightvm.owner attributes), passthrough (default)")
        ->allow_extra_args(false)
        ->type_name("HOSTDIR[:GUESTPATH][:OPTS]");
    sub->add_option("--rootfs", rootfs, "Host directory to use as the guest's / (OPTS as for --fs)")
        ->type_name("DIR[:OPTS]");
    sub->add_option("--tmpfs", tmpfs, "A file system in guest RAM at PATH (default SIZE: half of --mem), repeatable; "
                                      "/tmp and /dev/shm have one unless a share covers them")
        ->allow_extra_args(false)
        ->type_name("PATH[:SIZE]");
    sub->add_option("--cpus", cpus, "vCPUs the guest may use, started when it has work for them (1 to 8); "
                                "default: the host CPUs this process may use, at most 8 (with --save: 1; "
                                "a restore continues with the snapshot's)")
        ->type_name("N");
    sub->add_option("--pids", pids, "Most processes the guest may hold at once (fork beyond: EAGAIN); default 1024")
        ->type_name("N");
    sub->add_option("--disk", disks, "Attach a host file as /dev/vda, /dev/vdb, ..., repeatable")
        ->allow_extra_args(false)
        ->type_name("FILE[:ro]");
    sub->add_option("--net", net,
                    "Network: none (default: loopback inside the VM only), user (outbound TCP/UDP through pasta, "
                    "isolated from the host), host (the host's network) or ns:PATH (the network namespace at PATH, "
                    "e.g. /run/netns/NAME)")
        ->type_name("MODE");
    sub->add_option("-p,--publish", publish, "Publish a guest TCP/UDP port on the host, repeatable")
        ->allow_extra_args(false)
        ->type_name("[HOSTIP:]HOSTPORT:GUESTPORT[/udp]");
    sub->add_option("--dns", run.config.dns,
                    "A name server the guest's /etc/resolv.conf names (in place of the root file system's), "
                    "repeatable, at most 3")
        ->allow_extra_args(false)
        ->type_name("IP");
    sub->add_option("--hostname", run.config.hostname, "The guest's host name (uname, hostname); default lightvm")
        ->type_name("NAME");
    sub->add_option("-w,--workdir", workdir, "Guest working directory (default: the host's, when shared)")
        ->type_name("DIR");
    sub->add_flag("--trace", run.config.trace, "Print each guest system call to stderr, strace-style");
    sub->add_flag("--stats", run.config.stats, "Print boot time, exits by kind and memory touched to stderr");
    sub->add_flag("--no-aslr", run.config.no_aslr,
                  "Load the program, its libraries and its stack at the same addresses every run");
    sub->add_flag("--overcommit", run.config.overcommit,
                  "Accept --mem larger than the memory this host can back now (only touched pages cost memory)");
    bool no_sandbox = false;
    std::string uid, gid;
    sub->add_flag("--no-sandbox", no_sandbox,
                  "Do not confine the monitor process (seccomp, Landlock, capabilities): for debugging");
    sub->add_option("-u,--user", user,
                    "Run the program as this user (and group, default 0) inside the VM: Linux's permission checks, "
                    "no capabilities")
        ->type_name("UID[:GID]");
    sub->add_option("--uid", uid, "Run the monitor as this user id once the VM is built (root only)")->type_name("UID");
    sub->add_option("--gid", gid, "Run the monitor as this group id once the VM is built (root only)")->type_name("GID");
    sub->add_flag("-d,--detach", run.detach, "Run in the background under lightvmd; print the VM's ID");
    sub->add_option("--name", run.name, "Name of the VM (with -d or create)")->type_name("NAME");
    sub->add_flag("--rm", run.auto_remove, "Remove the VM when it exits (with -d or create)");
    sub->add_option("--socket", run.socket, "lightvmd's socket (default $LIGHTVM_SOCKET or the standard path)")
        ->type_name("PATH");
    sub->add_flag("--no-daemon", run.no_daemon, "Run the VM in this process even when lightvmd is running");
    std::string save_after;
    sub->add_option("--save", run.save_path, "Save the running VM to PATH and PATH.mem (see --save-after)")
        ->type_name("PATH");
    sub->add_option("--save-after", save_after, "With --save: save S seconds after the start (default 0)")
        ->type_name("S");
    sub->add_flag("--save-stop", run.config.save.stop, "With --save: end the VM once it is saved (exit status 0)");
    sub->add_flag("--save-at-ready", run.config.save.at_ready,
                  "With --save: save when the program writes /sys/devices/virtual/lightvm/ready (its ready point: "
                  "every restore returns from that write), not after a time");
    sub->add_option("--restore", run.config.restore_path,
                    "Continue the VM saved at PATH instead of starting an APP (no APP; the snapshot's shares and disks)")
        ->type_name("PATH");
    sub->add_flag("--prefault", run.config.restore_prefault,
                  "With --restore: copy the snapshot's pages in before the first instruction (no page-fault tail; "
                  "costs time per saved page)");
    sub->add_flag("--record-working-set", run.record_working_set,
                  "With --restore: write the pages this VM touches to PATH.ws, which later --prefault restores back "
                  "instead of every saved page");
    std::string image, entrypoint;
    bool read_only = false;
    sub->add_option("--image", image,
                    "Run a container image: an OCI image layout directory or a docker-archive tar (imported into the "
                    "cache, once) or the name or ID of an imported one; CMD... replaces its Cmd")
        ->type_name("IMAGE");
    sub->add_option("--entrypoint", entrypoint, "With --image: the program to run instead of the image's Entrypoint")
        ->type_name("CMD");
    sub->add_flag("--read-only", read_only, "With --image: no writable layer; the image's root is read-only "
                                            "(tmpfs on /tmp, /run, /var/tmp)");
    sub->prefix_command();  // everything from APP on belongs to the guest
    sub->footer("APP [ARGS...] follow the options (or a '--'): a static x86-64 executable and its arguments.\nExit status: the guest's; 124 timeout; "
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
    if (!image.empty()) {
        run.image = ImageRun{image, std::nullopt, {}, !workdir.empty(), !user.empty(), read_only};
        if (sub->count("--entrypoint"))
            run.image->entrypoint = entrypoint;
        if (!rootfs.empty())
            return make_error(ErrorKind::BadInput, "--image", "not with --rootfs (the image is the root file system)");
        if (!run.config.restore_path.empty() || !run.save_path.empty())
            return make_error(ErrorKind::BadInput, "--image", "not with --save or --restore");
    } else if (sub->count("--entrypoint") || read_only) {
        return make_error(ErrorKind::BadInput, read_only ? "--read-only" : "--entrypoint", "needs --image");
    }
    if (!save_after.empty()) {
        if (run.save_path.empty())
            return make_error(ErrorKind::BadInput, "--save-after", "needs --save PATH");
        auto s = parse_seconds(save_after);
        if (!s)
            return make_error(ErrorKind::BadInput, "--save-after", s.error().message);
        run.config.save.after_seconds = *s;
    }
    if (run.config.restore_prefault && run.config.restore_path.empty())
        return make_error(ErrorKind::BadInput, "--prefault", "needs --restore PATH");
    if (run.record_working_set && run.config.restore_path.empty())
        return make_error(ErrorKind::BadInput, "--record-working-set", "needs --restore PATH");
    if (run.config.save.stop && run.save_path.empty())
        return make_error(ErrorKind::BadInput, "--save-stop", "needs --save PATH");
    if (run.config.save.at_ready && run.save_path.empty())
        return make_error(ErrorKind::BadInput, "--save-at-ready", "needs --save PATH");
    if (run.config.save.at_ready && !save_after.empty())
        return make_error(ErrorKind::BadInput, "--save-at-ready", "not with --save-after (one or the other decides when)");
    // -d with --save: lightvmd opens the files and the VM saves itself
    // there (at its ready mark or after its time).
    const bool daemon_save = (run.detach || create) && run.config.restore_path.empty() &&
                             (run.config.save.at_ready || !save_after.empty());
    if ((!run.save_path.empty() || !run.config.restore_path.empty()) && !daemon_save) {
        // The files and the VM's state stay in this process.
        run.no_daemon = true;
        if (run.detach || create)
            return make_error(ErrorKind::BadInput, run.save_path.empty() ? "--restore" : "--save",
                              "with -d or create only with --save-at-ready or --save-after (else: lightvm snapshot create|restore)");
    }
    if (!run.config.restore_path.empty()) {
        // Everything the VM was started with is in the snapshot.
        const bool other = !rest.empty() || !after_dash.empty() || !mem.empty() || !shares.empty() || !disks.empty() ||
                           !rootfs.empty() || !tmpfs.empty() || !net.empty() || !publish.empty() || !workdir.empty() ||
                           !run.config.env.empty() || !pids.empty() || !user.empty() || sub->count("--cpus");
        if (other)
            return make_error(ErrorKind::BadInput, "--restore",
                              "takes no APP and no --mem/--fs/--rootfs/--disk/--tmpfs/--net/-p/-w/--env/--pids/--user/--cpus: "
                              "they come from the snapshot");
        // The restored RAM is a private mapping of PATH.mem: saving over it
        // would truncate the file under the running guest.
        struct stat a, b;
        if (!run.save_path.empty() && ::stat(run.save_path.c_str(), &a) == 0 &&
            ::stat(run.config.restore_path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return make_error(ErrorKind::BadInput, "--save", "is the snapshot being restored; save to another path");
        run.config.app_path = run.config.restore_path;
        run.sandbox = !no_sandbox;
        if (!timeout.empty())
            run.config.timeout_seconds = TRY(parse_seconds(timeout));
        return Command{std::move(run)};
    }
    if (!after_dash.empty()) {
        if (!rest.empty())
            return make_error(ErrorKind::BadInput, "usage", "unexpected argument '" + rest.front() + "' before '--'");
        rest = after_dash;
    } else if (rest.empty() && !run.image)
        return make_error(ErrorKind::BadInput, "usage", "lightvm run: missing APP (try lightvm run --help)");
    if (after_dash.empty() && !rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-')
        return make_error(ErrorKind::BadInput, "usage", "unknown option '" + rest.front() + "' (try lightvm run --help)");
    if (run.image) {
        // The program and its root are known once the image is (cli/image_run).
        run.image->cmd.assign(rest.begin(), rest.end());
        run.config.app_path = "/";
    } else {
        run.config.app_path = rest.front();
        run.config.argv.assign(rest.begin(), rest.end());
    }
    if (!mem.empty()) {
        auto size = parse_size(mem);
        if (!size)
            return make_error(ErrorKind::BadInput, "--mem", size.error().message);
        run.config.mem_size = *size;
    }
    if (!timeout.empty())
        run.config.timeout_seconds = TRY(parse_seconds(timeout));
    if (sub->count("--pids"))
        run.config.max_procs = TRY(parse_count("--pids", pids, "processes", abi::kMaxPids));
    // --save without --cpus keeps the VM on one vCPU, as before snapshots
    // held several: a snapshot's size and save time do not depend on the
    // host it was taken on (docs/design.md, "Several vCPUs"). A restore
    // takes the count from the snapshot.
    if (sub->count("--cpus"))
        run.config.cpus = TRY(parse_count("--cpus", cpus, "vCPUs", abi::kMaxCpus));
    else
        run.config.cpus = run.save_path.empty() && run.config.restore_path.empty() ? host_vcpus() : 1;
    if (!rootfs.empty())
        run.config.shares.push_back(TRY(parse_rootfs(rootfs)));
    for (const auto& s : shares)
        run.config.shares.push_back(TRY(parse_share(s)));
    for (const auto& d : disks)
        run.config.disks.push_back(TRY(parse_disk(d)));
    if (!net.empty()) {
        NetSpec spec = TRY(parse_net(net));
        run.config.net = spec.mode;
        run.config.netns_path = std::move(spec.netns_path);
    }
    for (const auto& p : publish)
        run.config.publish.push_back(TRY(parse_publish(p)));
    for (const auto& t : tmpfs)
        run.config.tmpfs.push_back(TRY(parse_tmpfs(t)));
    if (!user.empty())
        run.config.user = TRY(parse_user(user));
    // --net user: saved if no host socket is open at the save point; each
    // restore gets a namespace of its own (docs/snapshot-format.md).
    if (!run.save_path.empty() && (run.config.net == NetMode::Host || !run.config.publish.empty()))
        return make_error(ErrorKind::BadInput, "--save",
                          "a VM with --net host, --net ns:PATH or -p cannot be saved: "
                          "its host namespace and listeners cannot be rebuilt (--net user can)");
    run.config.cwd = workdir.empty() ? guest_cwd_for_host_cwd(run.config.shares) : TRY(normalise_guest_path(workdir));
    run.sandbox = !no_sandbox;
    if (!uid.empty())
        run.uid = TRY(parse_id("--uid", uid));
    if (!gid.empty())
        run.gid = TRY(parse_id("--gid", gid));
    if ((run.uid || run.gid) && !run.sandbox)
        return make_error(ErrorKind::BadInput, "--uid", "needs the sandbox (drop --no-sandbox)");
    run.config = TRY(validate(std::move(run.config)));
    return Command{std::move(run)};
}

}  // namespace lightvm::cli
