#include "oci/cgroups/path.hpp"

#include <vector>

namespace lightvm::oci::cgroups {

namespace {

Result<std::string> bad(const std::string& value, const std::string& why) {
    return make_error(ErrorKind::BadInput, "linux.cgroupsPath", "'" + value + "' " + why);
}

// "/a//b/./c/" -> "/a/b/c"; ".." is refused: the path must stay below the root.
Result<std::string> clean(const std::string& path) {
    std::string out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos)
            j = path.size();
        std::string part = path.substr(i, j - i);
        if (part == "..")
            return bad(path, "leaves the cgroup hierarchy ('..')");
        if (!part.empty() && part != ".")
            out += "/" + part;
        i = j + 1;
    }
    return out;
}

Result<std::string> systemd_path(const std::string& value, const std::string& id) {
    std::vector<std::string> parts;
    size_t i = 0;
    for (size_t j; (j = value.find(':', i)) != std::string::npos; i = j + 1)
        parts.push_back(value.substr(i, j - i));
    parts.push_back(value.substr(i));
    if (value.empty())
        parts = {"system.slice", "lightvm-oci", id};
    if (parts.size() != 3)
        return bad(value, "is not slice:prefix:name (--systemd-cgroup)");
    const std::string& slice = parts[0].empty() ? "system.slice" : parts[0];
    const std::string& name = parts[2];
    if (name.empty() || name.find('/') != std::string::npos)
        return bad(value, "has no unit name");
    std::string parent = TRY(expand_slice(slice));
    // As runc: a name that is a slice is the cgroup itself, otherwise it is
    // the scope PREFIX-NAME.scope.
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0)
        return parent + "/" + name;
    return parent + "/" + (parts[1].empty() ? name : parts[1] + "-" + name) + ".scope";
}

}  // namespace

Result<std::string> expand_slice(const std::string& slice) {
    const std::string suffix = ".slice";
    if (slice.size() <= suffix.size() || slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        slice.find('/') != std::string::npos)
        return bad(slice, "is not a systemd slice name");
    std::string name = slice.substr(0, slice.size() - suffix.size());
    if (name == "-")
        return std::string();
    if (name.front() == '-' || name.back() == '-' || name.find("--") != std::string::npos)
        return bad(slice, "is not a systemd slice name");
    std::string path, prefix;
    size_t i = 0;
    for (size_t j;; i = j + 1) {
        j = name.find('-', i);
        prefix = name.substr(0, j);
        path += "/" + prefix + suffix;
        if (j == std::string::npos)
            break;
    }
    return path;
}

Result<std::string> cgroup_path(const std::string& cgroups_path, const std::string& id, bool systemd) {
    if (systemd)
        return systemd_path(cgroups_path, id);
    std::string path = TRY(clean(cgroups_path.empty() ? "/" + id : cgroups_path));
    if (path.empty())
        return bad(cgroups_path, "names the hierarchy's root");
    return path;
}

}  // namespace lightvm::oci::cgroups
