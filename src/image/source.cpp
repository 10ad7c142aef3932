#include "image/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "image/archive_io.hpp"
#include "image/paths.hpp"
#include "image/tree.hpp"

namespace lightvm::image {

namespace {

class DirFiles : public ImageFiles {
public:
    DirFiles(std::string path, UniqueFd dir) : ImageFiles(std::move(path)), m_dir(std::move(dir)) {}
    bool is_tar() const override { return false; }

    bool exists(const std::string& rel) const override {
        int fd = open_in_root(m_dir.get(), rel.c_str(), O_PATH);
        return fd >= 0 && ::close(fd) == 0;
    }

    Result<std::unique_ptr<Reader>> open_file(const std::string& rel) const override {
        int fd = open_in_root(m_dir.get(), rel.c_str(), O_RDONLY);
        if (fd < 0)
            return fd == -ENOENT ? make_error(ErrorKind::NotFound, path(), rel + " is missing")
                                 : sys_error("open " + path() + "/" + rel, -fd);
        UniqueFd owned(fd);
        struct stat st;
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            return make_error(ErrorKind::BadInput, path(), rel + " is not a regular file");
        return std::unique_ptr<Reader>(new FdReader(std::move(owned), path() + "/" + rel));
    }

private:
    UniqueFd m_dir;
};

// Members are found by a scan of the headers at open (seeking over the
// data of an uncompressed tar); each open_file reads the tar again up to
// its member. Symlinks and hard links between members (old `docker save`
// links layers shared between images) are followed inside the tar.
class TarFiles : public ImageFiles {
public:
    struct Member {
        bool regular = false;
        std::string link;  // the member it stands for, cleaned; "" for none
    };
    TarFiles(std::string path, std::map<std::string, Member> members)
        : ImageFiles(std::move(path)), m_members(std::move(members)) {}
    bool is_tar() const override { return true; }

    bool exists(const std::string& rel) const override { return !resolve(rel).empty(); }

    Result<std::unique_ptr<Reader>> open_file(const std::string& rel) const override {
        const std::string name = resolve(rel);
        if (name.empty())
            return make_error(ErrorKind::NotFound, path(), rel + " is missing from the archive");
        auto in = TRY(ArchiveInput::open_file(path(), ArchiveInput::Kind::CompressedTar));
        while (archive_entry* e = TRY(in->next_entry()))
            if (clean_member_path(archive_entry_pathname(e) ? archive_entry_pathname(e) : "") == name)
                return std::unique_ptr<Reader>(new OwnedEntryReader(std::move(in)));
        return make_error(ErrorKind::BadInput, path(), rel + " vanished from the archive");
    }

private:
    // The regular member `rel` names, links followed; "" if none.
    std::string resolve(const std::string& rel) const {
        std::string name = clean_member_path(rel);
        for (int hops = 0; hops < 8 && !name.empty(); ++hops) {
            auto it = m_members.find(name);
            if (it == m_members.end())
                return "";
            if (it->second.regular)
                return name;
            name = it->second.link;
        }
        return "";
    }

    std::map<std::string, Member> m_members;
};

tl::unexpected<Error> not_an_image(const std::string& path, const Error& why) {
    return make_error(why.kind == ErrorKind::System ? ErrorKind::System : ErrorKind::BadInput, path,
                      "not an image: neither an OCI image layout directory nor a tar archive (" + why.message + ")");
}

Result<std::map<std::string, TarFiles::Member>> scan_tar(const std::string& path) {
    auto in = ArchiveInput::open_file(path, ArchiveInput::Kind::CompressedTar);
    if (!in)
        return not_an_image(path, in.error());
    std::map<std::string, TarFiles::Member> members;
    for (;;) {
        auto e = (*in)->next_entry();
        if (!e)
            return not_an_image(path, e.error());
        if (!*e)
            break;
        const char* raw = archive_entry_pathname(*e);
        std::string name = clean_member_path(raw ? raw : "");
        if (name.empty())
            continue;
        TarFiles::Member m;
        if (const char* hard = archive_entry_hardlink(*e)) {
            m.link = clean_member_path(hard);
        } else if (archive_entry_filetype(*e) == AE_IFLNK && archive_entry_symlink(*e)) {
            std::string target = archive_entry_symlink(*e);
            if (target.empty())
                continue;
            size_t slash = name.rfind('/');
            // Relative to the link's directory; an absolute target means the tar's top.
            m.link = clean_member_path(target[0] == '/' || slash == std::string::npos
                                           ? target
                                           : name.substr(0, slash) + "/" + target);
        } else {
            m.regular = archive_entry_filetype(*e) == AE_IFREG;
        }
        members[name] = m;
    }
    return members;
}

}  // namespace

std::string clean_member_path(const std::string& path) {
    std::string out;
    return normalise_path(path, true, out) ? out : std::string();
}

Result<std::string> ImageFiles::read_small(const std::string& rel, size_t limit) const {
    auto reader = TRY(open_file(rel));
    return read_all(*reader, limit, path() + ": " + rel);
}

Result<std::unique_ptr<ImageFiles>> ImageFiles::open(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        return errno == ENOENT ? make_error(ErrorKind::NotFound, path, "no such file or directory") : sys_error(path);
    if (S_ISDIR(st.st_mode)) {
        UniqueFd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir.valid())
            return sys_error("open " + path);
        return std::unique_ptr<ImageFiles>(new DirFiles(path, std::move(dir)));
    }
    if (!S_ISREG(st.st_mode))
        return make_error(ErrorKind::BadInput, path, "not an image: neither a directory nor a file");
    auto members = TRY(scan_tar(path));
    return std::unique_ptr<ImageFiles>(new TarFiles(path, std::move(members)));
}

}  // namespace lightvm::image
