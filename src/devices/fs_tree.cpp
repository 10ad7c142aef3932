// kFsListTree (abi.h): a directory's whole listing and then its
// subdirectories', depth first, in one exit. `find`, `du` and `ls -R` then
// walk a subtree from guest memory instead of paying an open, two
// getdents and a close per directory (docs/design.md, "Listing ahead").
#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "devices/fs.hpp"
#include "devices/fs_host.hpp"

namespace lightvm {

using namespace fs_detail;

namespace {

constexpr uint64_t kStat = sizeof(struct stat);
constexpr uint64_t kHead = sizeof(abi::FsTreeDir);
constexpr uint64_t kNameAt = 19;  // linux_dirent64: d_ino 8, d_off 8, d_reclen 2, d_type 1

uint64_t pad8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

bool is_dots(const char* name) { return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])); }

// The records of a directory from its current position into out, or -1
// when they need more than out holds (or the host fails).
int64_t read_listing(int fd, std::span<uint8_t> out) {
    uint64_t n = 0;
    for (;;) {
        if (n >= out.size())
            return -1;
        long r = ::syscall(SYS_getdents64, fd, out.data() + n, out.size() - n);
        if (r < 0)
            return -1;  // EINVAL: the next record does not fit either
        if (r == 0)
            return static_cast<int64_t>(n);
        n += static_cast<uint64_t>(r);
    }
}

// The host's linux_dirent64 output, record boundaries checked: each
// record's name (nullptr when not NUL-terminated inside it) and d_type.
struct Record {
    const char* name;
    uint8_t type;
};
std::vector<Record> records_of(const uint8_t* buf, uint64_t n) {
    std::vector<Record> out;
    for (uint64_t off = 0; off + kNameAt < n;) {
        uint16_t reclen;
        std::memcpy(&reclen, buf + off + 16, 2);
        if (reclen <= kNameAt || off + reclen > n)
            break;
        const char* name = reinterpret_cast<const char*>(buf + off + kNameAt);
        out.push_back({strnlen(name, reclen - kNameAt) < reclen - kNameAt ? name : nullptr, buf[off + 18]});
        off += reclen;
    }
    return out;
}

}  // namespace

uint8_t* FsDevice::tree_scratch() {
    if (!m_tree_scratch)
        m_tree_scratch.reset(new uint8_t[abi::kMaxTreeBytes]);  // not zeroed: only what is used is touched
    return m_tree_scratch.get();
}

// One FsTreeDir block for the open directory fd at t.used, within limit;
// false (nothing kept) when its whole listing does not fit. root: the
// handle the walk started at (its `..` may need hiding), else nullptr.
bool FsDevice::tree_block(int fd, const std::string& rel, TreeOut& t, uint64_t limit, const Handle* root,
                          std::vector<std::string>& subdirs) {
    uint64_t fixed = kHead + pad8(rel.size());
    if (t.used + fixed >= limit)
        return false;
    int64_t n = read_listing(fd, {tree_scratch(), std::min(abi::kMaxTreeBytes, limit - t.used - fixed)});
    if (n < 0)
        return false;
    std::vector<Record> names = records_of(tree_scratch(), static_cast<uint64_t>(n));
    uint64_t records = names.size();
    if (t.used + fixed + records * kStat + static_cast<uint64_t>(n) > limit)
        return false;
    uint8_t* block = t.out.data() + t.used;
    uint8_t* stats = block + fixed;
    uint8_t* dirents = stats + records * kStat;
    std::memcpy(block + kHead, rel.data(), rel.size());
    std::memset(block + kHead + rel.size(), 0, fixed - kHead - rel.size());
    std::memcpy(dirents, tree_scratch(), static_cast<size_t>(n));
    uint8_t* links = dirents + n;
    uint64_t link_bytes = 0, link_room = limit - (t.used + fixed + records * kStat + static_cast<uint64_t>(n));
    link_room &= ~uint64_t{7};
    for (uint64_t i = 0; i < records; ++i) {
        struct stat st{};
        const char* name = names[i].name;
        if (!name || ::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            st = {};  // st_nlink 0: unknown, the guest asks again
        else
            guest_view(t.share, fd, name, st);
        std::memcpy(stats + i * kStat, &st, kStat);
        if (S_ISLNK(st.st_mode) && link_room - link_bytes > sizeof(abi::FsLinkRecord))
            link_bytes += link_record(fd, name, static_cast<uint32_t>(i), {links + link_bytes, link_room - link_bytes});
        if (S_ISDIR(st.st_mode) && !is_dots(name))
            subdirs.emplace_back(name);
    }
    if (root)
        hide_above_root(*root, dirents, static_cast<uint64_t>(n), stats, records);
    std::memset(links + link_bytes, 0, pad8(link_bytes) - link_bytes);
    abi::FsTreeDir head{static_cast<uint32_t>(rel.size()), static_cast<uint32_t>(records),
                        static_cast<uint32_t>(n), static_cast<uint32_t>(link_bytes)};
    std::memcpy(block, &head, kHead);
    t.used += fixed + records * kStat + static_cast<uint64_t>(n) + pad8(link_bytes);
    t.blocks++;
    return true;
}

// Depth first below fd (whose path is rel); false once a listing did not
// fit, which ends the whole walk: what was sent is a prefix of it.
bool FsDevice::tree_walk(int fd, std::string& rel, const std::vector<std::string>& names, TreeOut& t,
                         uint64_t limit, uint32_t depth) {
    if (depth > abi::kMaxTreeDepth)
        return true;
    for (const std::string& name : names) {
        // By name from a confined directory, never through a symlink: the
        // walk stays inside the share as any guest lookup does.
        UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
        if (!sub.valid())
            continue;  // unreadable: the guest hears why when it opens it
        size_t keep = rel.size();
        rel += rel.empty() ? name : "/" + name;
        std::vector<std::string> below;
        bool ok = tree_block(sub.get(), rel, t, limit, nullptr, below) &&
                  tree_walk(sub.get(), rel, below, t, limit, depth + 1);
        rel.resize(keep);
        if (!ok)
            return false;
    }
    return true;
}

// The subdirectories of fd in listing order (d_type, else lstat), or
// false when the listing does not fit the scratch buffer.
bool FsDevice::subdir_names(int fd, std::vector<std::string>& out) {
    int64_t n = read_listing(fd, {tree_scratch(), abi::kMaxTreeBytes});
    if (n < 0)
        return false;
    for (const Record& r : records_of(tree_scratch(), static_cast<uint64_t>(n))) {
        struct stat st{};
        if (r.name && !is_dots(r.name) &&
            (r.type == DT_DIR ||
             (r.type == DT_UNKNOWN && ::fstatat(fd, r.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))))
            out.emplace_back(r.name);
    }
    return true;
}

// A walk that goes on where an earlier one stopped: depth first below fd
// (path rel), starting at the directory comps[at..] below fd, then at each
// level up the siblings after it and then those before it.
FsDevice::TreeEnd FsDevice::tree_resume(int fd, std::string& rel, const std::vector<std::string>& comps, size_t at,
                                        TreeOut& t, uint64_t limit, uint32_t depth) {
    if (at == comps.size()) {
        std::vector<std::string> below;
        if (!tree_block(fd, rel, t, limit, nullptr, below))
            return TreeEnd::NoRoom;
        return tree_walk(fd, rel, below, t, limit, depth + 1) ? TreeEnd::Done : TreeEnd::Full;
    }
    std::vector<std::string> names;
    if (depth > abi::kMaxTreeDepth || !subdir_names(fd, names))
        return TreeEnd::NoRoom;
    auto it = std::find(names.begin(), names.end(), comps[at]);
    if (it == names.end())
        return TreeEnd::NoRoom;  // gone meanwhile: the guest lists it itself
    UniqueFd sub(::openat(fd, it->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!sub.valid())
        return TreeEnd::NoRoom;
    size_t keep = rel.size();
    rel += rel.empty() ? *it : "/" + *it;
    TreeEnd end = tree_resume(sub.get(), rel, comps, at + 1, t, limit, depth + 1);
    rel.resize(keep);
    if (end != TreeEnd::Done)
        return end;
    // Then the siblings after it, and those before it last: a program that
    // visits in another order than the host lists (`ls -R` sorts) finds
    // them here too, rather than resuming once per directory.
    std::vector<std::string> after(it + 1, names.end()), before(names.begin(), it);
    return tree_walk(fd, rel, after, t, limit, depth + 1) && tree_walk(fd, rel, before, t, limit, depth + 1)
               ? TreeEnd::Done
               : TreeEnd::Full;
}

Result<int64_t> FsDevice::op_list_tree(GuestMemory& mem, abi::HcFs& hc) {
    auto out = TRY(mem.span(hc.buf, std::min(hc.len, abi::kMaxTreeBytes)));
    uint64_t budget = hc.offset > 0 ? std::min(static_cast<uint64_t>(hc.offset), abi::kMaxTreeBytes) : 0;
    TreeOut t{out};
    if (hc.handle == abi::kNoHandle)
        return list_tree_resumed(mem, hc, t);
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    t.share = h->share;
    // A descriptor of its own: the handle's position stays where it is.
    UniqueFd dir(::openat(h->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK));
    if (!dir.valid())
        return neg_errno();
    std::string rel;
    std::vector<std::string> subdirs;
    if (!tree_block(dir.get(), rel, t, out.size(), h, subdirs))
        return -E2BIG;
    uint64_t limit = std::min<uint64_t>(out.size(), t.used + budget);
    bool ended = tree_walk(dir.get(), rel, subdirs, t, limit, 1);
    hc.aux = t.blocks | (ended ? abi::kFsTreeEnded : 0);
    return static_cast<int64_t>(t.used);
}

// kFsListTree by path: the walk rooted at (share, path) again, resumed at
// path2 (abi.h), with the whole buffer as budget: the program is going
// through that walk. Blocks are named relative to the root, as before.
Result<int64_t> FsDevice::list_tree_resumed(GuestMemory& mem, abi::HcFs& hc, TreeOut& t) {
    std::string resume;
    if (int64_t r = TRY(read_path(mem, hc.path2, hc.path2_len, resume)); r < 0)
        return r;
    std::vector<std::string> comps;
    for (size_t at = 0; at < resume.size();) {
        size_t slash = resume.find('/', at);
        if (slash == std::string::npos)
            slash = resume.size();
        std::string c = resume.substr(at, slash - at);
        if (c.empty() || c == "." || c == "..")
            return -EINVAL;
        comps.push_back(std::move(c));
        at = slash + 1;
    }
    if (comps.empty())
        return -EINVAL;
    Base b;
    Target root;
    if (int64_t r = TRY(resolve_request(mem, hc, true, b, root)); r < 0)
        return r;
    t.share = b.share;
    UniqueFd dir(::openat(root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK));
    if (!dir.valid())
        return neg_errno();
    std::string rel;
    // A walk being resumed is one the program is going through: no budget.
    TreeEnd end = tree_resume(dir.get(), rel, comps, 0, t, t.out.size(), 0);
    if (end == TreeEnd::NoRoom && t.blocks == 0)
        return -E2BIG;
    hc.aux = t.blocks | (end == TreeEnd::Done ? abi::kFsTreeEnded : 0);
    return static_cast<int64_t>(t.used);
}

}  // namespace lightvm
