// Paths inside an archive or an image root: relative, '/'-separated, with
// "." and empty components dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lightvm::image {

// `in` as "a/b/c". A ".." goes up one component when `allow_up` (false
// when it would leave the top), and is refused otherwise.
inline bool normalise_path(std::string_view in, bool allow_up, std::string& out) {
    std::vector<std::string_view> parts;
    for (size_t i = 0; i <= in.size();) {
        size_t slash = in.find('/', i);
        if (slash == std::string_view::npos)
            slash = in.size();
        const std::string_view part = in.substr(i, slash - i);
        i = slash + 1;
        if (part.empty() || part == ".")
            continue;
        if (part == "..") {
            if (!allow_up || parts.empty())
                return false;
            parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    out.clear();
    for (const auto p : parts) {
        if (!out.empty())
            out += '/';
        out += p;
    }
    return true;
}

}  // namespace lightvm::image
