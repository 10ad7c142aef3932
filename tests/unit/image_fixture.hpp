// Helpers for the image tests: tars built in memory with libarchive's
// writer, OCI image layouts and docker-archive tars written to a temp dir.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "image/digest.hpp"

namespace image_test {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/lightvm-image-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("chmod -R u+rwx " + path + " 2>/dev/null; rm -rf " + path).c_str()); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path;
};

// One tar entry to write.
struct Entry {
    enum Type { File, Dir, Symlink, Hardlink, CharDev, Fifo } type = File;
    std::string name;
    std::string data;  // File: contents; Symlink/Hardlink: target
    mode_t mode = 0644;
    int64_t uid = 0, gid = 0;
};

inline Entry file(std::string name, std::string data, mode_t mode = 0644) {
    return Entry{Entry::File, std::move(name), std::move(data), mode};
}
inline Entry dir(std::string name, mode_t mode = 0755) { return Entry{Entry::Dir, std::move(name), "", mode}; }
inline Entry symlink_entry(std::string name, std::string target) {
    return Entry{Entry::Symlink, std::move(name), std::move(target), 0777};
}
inline Entry hardlink_entry(std::string name, std::string target) {
    return Entry{Entry::Hardlink, std::move(name), std::move(target), 0644};
}

// "gzip", "zstd" or "" (plain tar).
// Opens writer `a` into `out` (the archive's bytes appended there).
inline void open_into(archive* a, std::string& out) {
    archive_write_set_bytes_in_last_block(a, 1);
    auto append = [](archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
    };
    archive_write_open(a, &out, nullptr, append, nullptr);
}

inline std::string make_tar(const std::vector<Entry>& entries, const std::string& filter = "") {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter == "gzip")
        archive_write_add_filter_gzip(a);
    else if (filter == "zstd")
        archive_write_add_filter_zstd(a);
    open_into(a, out);
    for (const auto& e : entries) {
        archive_entry* ae = archive_entry_new();
        archive_entry_set_pathname(ae, e.name.c_str());
        archive_entry_set_perm(ae, e.mode);
        archive_entry_set_uid(ae, e.uid);
        archive_entry_set_gid(ae, e.gid);
        archive_entry_set_mtime(ae, 1700000000, 0);
        switch (e.type) {
        case Entry::File:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
            break;
        case Entry::Dir: archive_entry_set_filetype(ae, AE_IFDIR); break;
        case Entry::Symlink:
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_symlink(ae, e.data.c_str());
            break;
        case Entry::Hardlink:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_hardlink(ae, e.data.c_str());
            break;
        case Entry::CharDev:
            archive_entry_set_filetype(ae, AE_IFCHR);
            archive_entry_set_rdev(ae, makedev(1, 3));
            break;
        case Entry::Fifo: archive_entry_set_filetype(ae, AE_IFIFO); break;
        }
        archive_write_header(a, ae);
        if (e.type == Entry::File && !e.data.empty())
            archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

inline std::string sha(const std::string& bytes) { return lightvm::image::sha256_of(bytes).hex; }

inline void write_file(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

// A two-layer test image: its layers (plain tars) and config.
struct TestImage {
    std::vector<std::string> layers;  // uncompressed
    std::string config;

    TestImage() {
        layers.push_back(make_tar({dir("bin"), file("bin/tool", "#!tool\n", 0755), dir("etc"),
                                   file("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home:/bin/sh\n"),
                                   file("etc/doomed", "x"), dir("opaque"), file("opaque/a", "a")}));
        layers.push_back(make_tar({file("etc/.wh.doomed", ""), file("etc/added", "added"),
                                   file("opaque/.wh..wh..opq", ""), file("opaque/c", "c")}));
        config = R"({"architecture":"amd64","os":"linux","created":"2023-11-14T22:13:20Z",)"
                 R"("config":{"Cmd":["/bin/tool"],"Env":["PATH=/bin","A=1"],"WorkingDir":"/etc","User":"app"},)"
                 R"("rootfs":{"type":"layers","diff_ids":["sha256:)" +
                 sha(layers[0]) + R"(","sha256:)" + sha(layers[1]) + R"("]}})";
    }
    std::string id() const { return sha(config); }

    // An OCI image layout at `dir`, layers compressed with `filter`.
    // Returns the layer blobs' digests.
    std::vector<std::string> write_oci(const std::string& dir, const std::string& filter = "gzip",
                                       const std::string& tag = "test:1") const {
        ::mkdir(dir.c_str(), 0755);
        ::mkdir((dir + "/blobs").c_str(), 0755);
        ::mkdir((dir + "/blobs/sha256").c_str(), 0755);
        auto blob = [&](const std::string& data) {
            write_file(dir + "/blobs/sha256/" + sha(data), data);
            return R"("digest":"sha256:)" + sha(data) + R"(","size":)" + std::to_string(data.size());
        };
        std::vector<std::string> digests;
        std::string layer_descs;
        const std::string type = "application/vnd.oci.image.layer.v1.tar" +
                                 std::string(filter.empty() ? "" : "+" + filter);
        for (const auto& l : layers) {
            std::string stored = filter.empty() ? l : recompress(l, filter);
            digests.push_back(sha(stored));
            layer_descs += std::string(layer_descs.empty() ? "" : ",") + R"({"mediaType":")" + type + R"(",)" +
                           blob(stored) + "}";
        }
        std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                               R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json",)" +
                               blob(config) + R"(},"layers":[)" + layer_descs + "]}";
        std::string index = R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)" +
                            blob(manifest) + R"(,"annotations":{"org.opencontainers.image.ref.name":")" + tag +
                            R"("}}]})";
        write_file(dir + "/index.json", index);
        write_file(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
        return digests;
    }

    // A docker-archive tar at `path`, as docker save (before 25) writes it.
    void write_docker(const std::string& path, const std::string& tag = "test:1") const {
        std::vector<Entry> entries{file(id() + ".json", config)};
        std::string paths;
        for (size_t i = 0; i < layers.size(); ++i) {
            std::string d = "layer" + std::to_string(i);
            entries.push_back(dir(d));
            entries.push_back(file(d + "/layer.tar", layers[i]));
            paths += std::string(paths.empty() ? "" : ",") + "\"" + d + "/layer.tar\"";
        }
        entries.push_back(file("manifest.json", R"([{"Config":")" + id() + R"(.json","RepoTags":[")" + tag +
                                                    R"("],"Layers":[)" + paths + "]}]"));
        write_file(path, make_tar(entries));
    }

    // `bytes` through libarchive's gzip or zstd writer (raw format: no tar around it).
    static std::string recompress(const std::string& bytes, const std::string& filter) {
        std::string out;
        archive* a = archive_write_new();
        archive_write_set_format_raw(a);
        if (filter == "gzip")
            archive_write_add_filter_gzip(a);
        else
            archive_write_add_filter_zstd(a);
        open_into(a, out);
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, "data");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
        archive_write_header(a, e);
        archive_write_data(a, bytes.data(), bytes.size());
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        return out;
    }
};

}  // namespace image_test
