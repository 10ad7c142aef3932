// Shared by the device fuzz targets: a real guest memory, a temporary host
// tree with a share and, beside it, an "outside" directory that nothing a
// guest does may change (the confinement oracle).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace lightvm::fuzz {

inline std::string make_tree() {
    char tmpl[] = "/tmp/lightvm-fuzz-XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    namespace fs = std::filesystem;
    for (const char* d : {"/share", "/share/d", "/share/d/e", "/ro", "/outside"})
        fs::create_directories(root + d);
    std::ofstream(root + "/share/f") << "file";
    std::ofstream(root + "/share/d/g") << "nested";
    std::ofstream(root + "/ro/r") << "read only";
    std::ofstream(root + "/outside/canary") << "canary";
    fs::create_symlink("../outside/canary", root + "/share/up");
    fs::create_symlink("/outside", root + "/share/abs");
    fs::create_symlink("d", root + "/share/dl");
    std::atexit([] {});
    return root;
}

// The outside directory as it was: same entries, same canary.
struct Outside {
    explicit Outside(const std::string& root) : path(root + "/outside") { snapshot(before); }
    bool unchanged() const {
        struct stat now{};
        snapshot(now);
        return now.st_mtim.tv_sec == before.st_mtim.tv_sec && now.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
               now.st_nlink == before.st_nlink && canary_ok();
    }

private:
    void snapshot(struct stat& st) const { ::stat(path.c_str(), &st); }
    bool canary_ok() const {
        char buf[16] = {};
        int fd = ::open((path + "/canary").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return false;
        ssize_t n = ::read(fd, buf, sizeof buf);
        ::close(fd);
        struct stat st{};
        ::stat((path + "/canary").c_str(), &st);
        return n == 6 && std::string(buf, 6) == "canary" && (st.st_mode & 07777) == 0644;
    }
    std::string path;
    struct stat before{};
};

}  // namespace lightvm::fuzz
