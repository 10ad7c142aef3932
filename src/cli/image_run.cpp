#include "cli/image_run.hpp"

#include <algorithm>
#include <cstdio>

#include "image/import.hpp"
#include "image/root_files.hpp"
#include "image/run_settings.hpp"
#include "image/store.hpp"
#include "image/writable.hpp"
#include "loader/program_in_root.hpp"

namespace lightvm::cli {

namespace {

using namespace lightvm::image;

// Errors about the image are lightvm's (125), not the program's.
Error as_image_error(const Error& e) {
    Error out = e;
    out.where = "--image";
    out.message = e.where == "image" ? e.message : e.to_string();
    return out;
}

// A name or ID in the cache first (names never start with '/' or '.'),
// else a path to import (a cache hit costs reading its index, manifest and
// config): `--image busybox` means the image even where ./busybox exists.
Result<ImageRecord> find_or_import(const Store& store, const std::string& ref) {
    const bool path_only = !ref.empty() && (ref[0] == '/' || ref[0] == '.');
    auto path = split_path_tag(ref);
    if (!path_only)
        if (auto found = store.find(ref); found || !path)
            return found;
    if (!path)
        return make_error(ErrorKind::NotFound, ref, "no such file or directory");
    ImportResult imported = TRY(import_image(store, ImportRequest{path->path, path->tag, {}}));
    if (imported.stats.devices_skipped)
        std::fprintf(stderr, "lightvm: image: %llu device nodes skipped (e.g. %s): the guest kernel provides /dev\n",
                     static_cast<unsigned long long>(imported.stats.devices_skipped),
                     imported.stats.first_device.c_str());
    return imported.record;
}

Result<void> prepare(RunCommand& run) {
    const ImageRun& req = *run.image;
    Store store = TRY(Store::open(Store::default_dir()));
    ImageRecord record = TRY(find_or_import(store, req.ref));
    // Held for this process's life: `image rm` refuses meanwhile.
    (void)TRY(store.hold(record.id)).release();
    ImageConfig config = TRY(parse_config(TRY(store.config_json(record.id)), "config " + record.id.short_id()));
    RunSettings settings = TRY(run_settings(config, RunOverrides{req.entrypoint, req.cmd, run.config.env}));
    if (!req.workdir_given)
        run.config.cwd = settings.cwd;
    const std::string rootfs = store.rootfs(record.id);
    const std::string passwd = read_root_file(rootfs, "/etc/passwd");
    if (!req.user_given && !config.user.empty()) {
        ResolvedUser user = TRY(resolve_user(config.user, passwd, read_root_file(rootfs, "/etc/group")));
        run.config.user = VmConfig::User{user.uid, user.gid, user.groups};
    }
    if (std::none_of(settings.env.begin(), settings.env.end(), [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
        settings.env.push_back("HOME=" + home_of(run.config.user.uid, passwd));
    WritableRoot root = TRY(writable_root(store, record.id, req.read_only));
    if (!root.warning.empty())
        std::fprintf(stderr, "lightvm: warning: %s\n", root.warning.c_str());
    run.config.shares.insert(run.config.shares.begin(), ShareSpec{root.root, "/", root.read_only});
    if (root.read_only)
        add_scratch_tmpfs(run.config);
    run.config.env = settings.env;
    run.config.argv = settings.argv;
    return {};
}

}  // namespace

Result<void> prepare_image_run(RunCommand& run) {
    if (auto prepared = prepare(run); !prepared)
        return tl::unexpected(as_image_error(prepared.error()));
    // The program, inside the root as the guest will see it.
    const std::string& root = run.config.shares.front().host_path;
    auto program = find_program_in_root(root, run.config.argv.front(), run.config.cwd, run.config.env, kDefaultPath);
    if (!program)
        return make_error(program.error().kind, "image", program.error().message + " in the image");
    // The fd stays open: the workload maps the program through it.
    run.config.app_path = "/proc/self/fd/" + std::to_string(program->fd);
    run.config.exe_path = program->guest_path;
    run.config = TRY(validate(std::move(run.config)));
    run.no_daemon = true;
    return {};
}

Result<void> prepare_image_for_daemon(RunCommand& run) {
    std::string& ref = run.image->ref;
    const bool path_only = !ref.empty() && (ref[0] == '/' || ref[0] == '.');
    auto store = Store::open(Store::default_dir());
    if (!store)
        return tl::unexpected(as_image_error(store.error()));
    // A name or ID in the cache is sent as it is (the VM shows it); a path
    // is imported and becomes the image's ID.
    if (!path_only && store->find(ref))
        return {};
    auto record = find_or_import(*store, ref);
    if (!record)
        return tl::unexpected(as_image_error(record.error()));
    ref = record->id.str();
    return {};
}

}  // namespace lightvm::cli
