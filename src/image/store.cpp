#include "image/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "image/tree.hpp"

namespace lightvm::image {

namespace {

using nlohmann::json;

Result<void> make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
        return sys_error("mkdir " + path);
    return {};
}

Result<std::string> read_text(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return sys_error("open " + path);
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sys_error("read " + path);
        if (n == 0)
            return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

std::string random_hex() {
    unsigned char raw[8] = {};
    if (::getrandom(raw, sizeof raw, 0) != sizeof raw)
        for (auto& b : raw)
            b = static_cast<unsigned char>(std::rand());
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : raw) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

bool is_hex(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Holds `path` locked until closed; `exclusive` without waiting.
UniqueFd try_lock_dir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.valid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
        fd.reset();
    return fd;
}

}  // namespace

Scratch::~Scratch() {
    if (!m_path.empty())
        (void)remove_tree(m_path);
}

std::string Store::default_dir() {
    if (const char* dir = std::getenv("LIGHTVM_IMAGE_DIR"); dir && *dir)
        return dir;
    if (::geteuid() == 0)
        return "/var/lib/lightvm/images";
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg == '/')
        return std::string(xdg) + "/lightvm/images";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/tmp") + "/.local/share/lightvm/images";
}

Result<Store> Store::open(const std::string& dir) {
    if (dir.empty() || dir[0] != '/')
        return make_error(ErrorKind::BadInput, "image cache", "'" + dir + "' is not an absolute path");
    // Parents as `mkdir -p` would; the cache itself is private.
    for (size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1))
        TRY(make_dir(dir.substr(0, slash), 0755));
    TRY(make_dir(dir, 0700));
    for (const char* sub : {"/roots", "/roots/sha256", "/tmp", "/run"})
        TRY(make_dir(dir + sub, 0700));
    UniqueFd probe(::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!probe.valid())
        return sys_error("image cache " + dir);
    return Store(dir);
}

Result<UniqueFd> Store::lock() const {
    UniqueFd fd(::open((m_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid())
        return sys_error("open " + m_dir + "/lock");
    while (::flock(fd.get(), LOCK_EX) != 0)
        if (errno != EINTR)
            return sys_error("lock " + m_dir);
    return fd;
}

std::optional<ImageRecord> Store::get(const Digest& id) const {
    auto text = read_text(image_dir(id) + "/image.json");
    if (!text)
        return std::nullopt;
    auto r = record_from_json(*text);
    if (!r || r->id != id)
        return std::nullopt;
    return *r;
}

Result<std::vector<ImageRecord>> Store::list() const {
    UniqueFd roots(::open((m_dir + "/roots/sha256").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!roots.valid())
        return sys_error("open " + m_dir + "/roots/sha256");
    std::vector<ImageRecord> out;
    for (const auto& hex : TRY(list_dir(roots.get())))
        if (is_sha256_hex(hex))
            if (auto r = get(Digest{hex}))
                out.push_back(std::move(*r));
    std::sort(out.begin(), out.end(), [](const ImageRecord& a, const ImageRecord& b) {
        return a.imported != b.imported ? a.imported > b.imported : a.id.hex < b.id.hex;
    });
    return out;
}

Result<ImageRecord> Store::find(const std::string& ref) const {
    auto all = TRY(list());
    auto named = [&](const std::string& n) -> const ImageRecord* {
        for (const auto& r : all)
            if (std::find(r.names.begin(), r.names.end(), n) != r.names.end())
                return &r;
        return nullptr;
    };
    if (const ImageRecord* r = named(ref))
        return *r;
    if (ref.find(':', ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/')) == std::string::npos)
        if (const ImageRecord* r = named(ref + ":latest"))
            return *r;
    std::string hex = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
    if (is_hex(hex) && hex.size() <= 64) {
        std::vector<const ImageRecord*> hits;
        for (const auto& r : all)
            if (r.id.hex.compare(0, hex.size(), hex) == 0)
                hits.push_back(&r);
        if (hits.size() == 1)
            return *hits.front();
        if (hits.size() > 1)
            return make_error(ErrorKind::BadInput, "image",
                              "'" + ref + "' is an ambiguous ID prefix (" + std::to_string(hits.size()) + " images)");
    }
    return make_error(ErrorKind::NotFound, "image", "no image '" + ref + "' in " + m_dir + " (lightvm image ls)");
}

Result<std::string> Store::config_json(const Digest& id) const {
    std::string text = TRY(read_text(image_dir(id) + "/config.json"));
    // The cache is ours, but a file changed behind our back is not the image.
    if (sha256_of(text) != id)
        return make_error(ErrorKind::BadInput, "image", "the cached config of " + id.short_id() + " was modified");
    return text;
}

Result<Scratch> Store::scratch(const char* area) const {
    // Under the cache lock: collect_garbage never sees it unlocked.
    UniqueFd guard = TRY(lock());
    std::string path = m_dir + "/" + area + "/" + std::to_string(::getpid()) + "-" + random_hex();
    if (::mkdir(path.c_str(), 0700) != 0)
        return sys_error("mkdir " + path);
    UniqueFd held = try_lock_dir(path);
    if (!held.valid()) {
        (void)remove_tree(path);
        return sys_error("lock " + path);
    }
    return Scratch(path, std::move(held));
}

Result<void> Store::write_record(const std::string& dir, const ImageRecord& r) const {
    const std::string tmp = dir + "/image.json.tmp", final_path = dir + "/image.json";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid())
        return sys_error("create " + tmp);
    const std::string text = record_to_json(r) + "\n";
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return sys_error("write " + tmp, errno ? errno : ENOSPC);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
        return sys_error("rename " + tmp);
    return {};
}

// Under the cache lock: `names` leave every image but `keeper`.
Result<void> Store::take_names(const Digest& keeper, const std::vector<std::string>& names) const {
    for (auto r : TRY(list())) {
        if (r.id == keeper)
            continue;
        auto kept = std::remove_if(r.names.begin(), r.names.end(), [&](const std::string& n) {
            return std::find(names.begin(), names.end(), n) != names.end();
        });
        if (kept == r.names.end())
            continue;
        r.names.erase(kept, r.names.end());
        TRY(write_record(image_dir(r.id), r));
    }
    return {};
}

Result<ImageRecord> Store::commit(Scratch& staged, ImageRecord record) const {
    {
        UniqueFd guard = TRY(lock());
        if (!get(record.id)) {
            TRY(write_record(staged.path(), record));
            if (UniqueFd held(::open((staged.path() + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
                !held.valid())
                return sys_error("create " + staged.path() + "/lock");
            if (::rename(staged.path().c_str(), image_dir(record.id).c_str()) != 0)
                return sys_error("rename " + staged.path() + " to " + image_dir(record.id));
            staged.keep();
            TRY(take_names(record.id, record.names));
            return record;
        }
    }
    // Imported meanwhile by someone else: theirs stays, ours goes with `staged`.
    return add_names(record.id, record.names);
}

Result<ImageRecord> Store::add_names(const Digest& id, const std::vector<std::string>& names) const {
    UniqueFd guard = TRY(lock());
    auto r = get(id);
    if (!r)
        return make_error(ErrorKind::NotFound, "image", id.short_id() + " vanished from the cache");
    bool changed = false;
    for (const auto& n : names)
        if (std::find(r->names.begin(), r->names.end(), n) == r->names.end()) {
            r->names.push_back(n);
            changed = true;
        }
    if (changed) {
        TRY(write_record(image_dir(id), *r));
        TRY(take_names(id, names));
    }
    return *r;
}

Result<void> Store::remove_name(const Digest& id, const std::string& name) const {
    UniqueFd guard = TRY(lock());
    auto r = get(id);
    if (!r)
        return make_error(ErrorKind::NotFound, "image", id.short_id() + " vanished from the cache");
    r->names.erase(std::remove(r->names.begin(), r->names.end(), name), r->names.end());
    return write_record(image_dir(id), *r);
}

Result<UniqueFd> Store::hold(const Digest& id) const {
    UniqueFd fd(::open((image_dir(id) + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return errno == ENOENT ? make_error(ErrorKind::NotFound, "image", id.short_id() + " is not in the cache")
                               : sys_error("open " + image_dir(id) + "/lock");
    while (::flock(fd.get(), LOCK_SH) != 0)
        if (errno != EINTR)
            return sys_error("lock image " + id.short_id());
    return fd;
}

Result<void> Store::remove(const ImageRecord& record) const {
    UniqueFd guard = TRY(lock());
    const std::string dir = image_dir(record.id);
    UniqueFd held(::open((dir + "/lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (held.valid() && ::flock(held.get(), LOCK_EX | LOCK_NB) != 0)
        return make_error(ErrorKind::BadInput, "image", record.id.short_id() + " is in use by a VM (lightvm ps -a)");
    // Out of roots/ at once; the slow part happens where nobody looks.
    const std::string doomed = m_dir + "/tmp/rm-" + random_hex();
    if (::rename(dir.c_str(), doomed.c_str()) != 0)
        return sys_error("rename " + dir);
    guard.reset();
    return remove_tree(doomed);
}

void Store::collect_garbage() const {
    auto guard = lock();
    if (!guard)
        return;
    for (const char* area : {"/tmp", "/run"}) {
        const std::string base = m_dir + area;
        UniqueFd dir(::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        auto names = dir.valid() ? list_dir(dir.get()) : Result<std::vector<std::string>>(std::vector<std::string>{});
        if (!names)
            continue;
        for (const auto& n : *names)
            if (UniqueFd stale = try_lock_dir(base + "/" + n); stale.valid())
                (void)remove_tree(dir.get(), n);
    }
}

Result<void> check_image_name(const std::string& name) {
    auto ok = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == ':' || c == '/' || c == '@' || c == '+' || c == '-';
    };
    const bool bad_start = name.empty() || !ok(name[0]) || name[0] == '.' || name[0] == '_' || name[0] == ':' ||
                           name[0] == '/' || name[0] == '@' || name[0] == '+' || name[0] == '-';
    if (bad_start || name.size() > 255 || !std::all_of(name.begin(), name.end(), ok))
        return make_error(ErrorKind::BadInput, "--name",
                          "'" + name.substr(0, 80) + "' is not a valid name (letters, digits, . _ : / @ + -)");
    if (name.rfind("sha256:", 0) == 0 || is_sha256_hex(name))
        return make_error(ErrorKind::BadInput, "--name", "'" + name.substr(0, 80) + "' looks like an image ID");
    return {};
}

std::string record_to_json(const ImageRecord& r) {
    json j = {{"id", r.id.str()},       {"names", r.names},     {"source", r.source},
              {"format", r.format},     {"created", r.created}, {"size", r.size},
              {"imported", r.imported}, {"layers", r.layers}};
    return j.dump();
}

Result<ImageRecord> record_from_json(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (!j.is_object())
        return make_error(ErrorKind::BadInput, "image.json", "not a JSON object");
    try {
        ImageRecord r;
        r.id = TRY(parse_digest(j.at("id").get<std::string>(), "image.json"));
        r.names = j.value("names", std::vector<std::string>{});
        r.source = j.value("source", "");
        r.format = j.value("format", "");
        r.created = j.value("created", "");
        r.size = j.value("size", uint64_t{0});
        r.imported = j.value("imported", int64_t{0});
        r.layers = j.value("layers", uint32_t{0});
        return r;
    } catch (const json::exception& e) {
        return make_error(ErrorKind::BadInput, "image.json", std::string("wrong type: ") + e.what());
    }
}

}  // namespace lightvm::image
