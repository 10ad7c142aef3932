// libFuzzer target: the image documents (src/image/manifest.cpp) and the
// text files run --image reads from an image (run_settings.cpp). They come
// from whoever made the image; any bytes must give a value or a one-line
// error, never a crash. Each input goes through every parser.
#include <cstdint>
#include <string>

#include "image/manifest.hpp"
#include "image/run_settings.hpp"

namespace {

template <class R>
void one_line(const R& r) {
    if (!r && r.error().to_string().find('\n') != std::string::npos)
        __builtin_trap();  // errors are one line
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lightvm::image;
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto index = parse_index(text, "index.json");
    one_line(index);
    if (index) {
        one_line(select_manifest(*index, "", "index.json"));
        one_line(select_manifest(*index, "latest", "index.json"));
    }
    one_line(parse_manifest(text, "manifest"));
    auto config = parse_config(text, "config");
    one_line(config);
    if (config) {
        one_line(check_platform(*config));
        one_line(run_settings(*config, RunOverrides{}));
        one_line(resolve_user(config->user, text, text));
    }
    auto docker = parse_docker_manifest(text);
    one_line(docker);
    if (docker)
        one_line(select_docker_image(*docker, "latest", "manifest.json"));
    one_line(resolve_user("app:grp", text, text));
    return 0;
}
