#include "cli/image_commands.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "image/import.hpp"
#include "image/store.hpp"

namespace lightvm::cli {

namespace {

using namespace lightvm::image;

int fail(const Error& e) {
    std::fprintf(stderr, "lightvm: %s\n", e.to_string().c_str());
    return 1;
}

std::string human_size(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

std::string ago(int64_t unix_seconds) {
    int64_t s = static_cast<int64_t>(std::time(nullptr)) - unix_seconds;
    s = std::max<int64_t>(s, 0);
    if (s < 120)
        return std::to_string(s) + " seconds ago";
    if (s < 7200)
        return std::to_string(s / 60) + " minutes ago";
    if (s < 172800)
        return std::to_string(s / 3600) + " hours ago";
    return std::to_string(s / 86400) + " days ago";
}

int import(const Store& store, const std::string& arg, const std::vector<std::string>& names) {
    auto where = split_path_tag(arg);
    if (!where)
        return fail(make_error(ErrorKind::NotFound, arg, "no such file or directory").value());
    auto r = import_image(store, ImportRequest{where->path, where->tag, names});
    if (!r)
        return fail(r.error());
    if (r->stats.devices_skipped)
        std::fprintf(stderr, "lightvm: image: %llu device nodes skipped (e.g. %s): the guest kernel provides /dev\n",
                     static_cast<unsigned long long>(r->stats.devices_skipped), r->stats.first_device.c_str());
    std::printf("%s\n", r->record.id.short_id().c_str());
    return 0;
}

int ls(const Store& store, bool as_json, bool quiet) {
    auto all = store.list();
    if (!all)
        return fail(all.error());
    if (as_json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : *all) {
            auto j = nlohmann::json::parse(record_to_json(r));
            j["rootfs"] = store.rootfs(r.id);
            out.push_back(std::move(j));
        }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (!quiet)
        std::printf("%-12s  %-32s  %10s  %-10s  %s\n", "ID", "NAME", "SIZE", "CREATED", "IMPORTED");
    for (const auto& r : *all) {
        if (quiet) {
            std::printf("%s\n", r.id.short_id().c_str());
            continue;
        }
        std::vector<std::string> names = r.names.empty() ? std::vector<std::string>{"<none>"} : r.names;
        for (const auto& n : names)
            std::printf("%-12s  %-32s  %10s  %-10s  %s\n", r.id.short_id().c_str(), n.c_str(), human_size(r.size).c_str(),
                        r.created.empty() ? "-" : r.created.substr(0, 10).c_str(), ago(r.imported).c_str());
    }
    return 0;
}

// A name goes; the image goes with its last name, or when named by ID.
int rm(const Store& store, const std::vector<std::string>& refs) {
    int status = 0;
    for (const auto& ref : refs) {
        auto r = store.find(ref);
        if (!r) {
            status = fail(r.error());
            continue;
        }
        const bool by_name = std::find(r->names.begin(), r->names.end(), ref) != r->names.end();
        if (by_name && r->names.size() > 1) {
            auto untagged = store.remove_name(r->id, ref);
            if (!untagged)
                status = fail(untagged.error());
            else
                std::printf("untagged %s\n", ref.c_str());
            continue;
        }
        if (auto removed = store.remove(*r); !removed)
            status = fail(removed.error());
        else
            std::printf("deleted %s\n", r->id.str().c_str());
    }
    return status;
}

}  // namespace

int image_command_main(int argc, char** argv) {
    CLI::App app{"lightvm image: container images in lightvm's cache (" + Store::default_dir() + ")", "lightvm image"};
    app.require_subcommand(1, 1);
    std::string path;
    std::vector<std::string> names, refs;
    bool as_json = false, quiet = false;
    auto* imp = app.add_subcommand("import", "Unpack an OCI image layout or a docker-archive tar into the cache; "
                                             "prints the image's ID");
    imp->add_option("PATH", path, "A directory (OCI image layout) or a tar (docker save, skopeo docker-archive:/"
                                  "oci-archive:); :TAG picks one of several images")
        ->required()
        ->type_name("PATH[:TAG]");
    imp->add_option("--name", names, "Name the image (repeatable; default: the tags it carries)")->type_name("NAME");
    auto* list = app.add_subcommand("ls", "List the imported images");
    list->alias("list");
    list->add_flag("--json", as_json, "JSON, one object per image");
    list->add_flag("-q,--quiet", quiet, "IDs only");
    auto* remove = app.add_subcommand("rm", "Remove images (by ID, unique ID prefix or name); refused while a VM "
                                            "runs one");
    remove->add_option("IMAGE", refs, "ID, ID prefix or name")->required();
    try {
        app.parse(argc - 1, argv + 1);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "lightvm: usage: %s (try lightvm image --help)\n", e.what());
        return 2;
    }
    auto store = Store::open(Store::default_dir());
    if (!store)
        return fail(store.error());
    if (imp->parsed())
        return import(*store, path, names);
    if (list->parsed())
        return ls(*store, as_json, quiet);
    return rm(*store, refs);
}

}  // namespace lightvm::cli
