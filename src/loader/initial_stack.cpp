#include "loader/initial_stack.hpp"

#include <cstdio>

namespace lightvm::loader {

namespace {

using exec::Problem;
using exec::Status;

tl::unexpected<Error> bad(std::string message) {
    return make_error(ErrorKind::BadInput, "exec", std::move(message));
}

std::string hex(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
    return buf;
}

std::string describe(const Problem& p) {
    switch (p.status) {
    case Status::StackTopUnaligned:
        return "stack top " + hex(p.value) + " is not 16-byte aligned";
    case Status::TooManyArguments:
        return "too many arguments (" + std::to_string(p.value) + ", limit " + std::to_string(p.limit) + ")";
    case Status::TooManyEnvironment:
        return "too many environment variables (" + std::to_string(p.value) + ", limit " +
               std::to_string(p.limit) + ")";
    case Status::ReservedAuxType:
        return "auxv entry type " + std::to_string(p.value) + " is added by the stack builder, not the caller";
    case Status::TooLarge:
        return "arguments and environment too large (" + std::to_string(p.value) + " bytes, limit " +
               std::to_string(p.limit) + ")";
    case Status::StackTopTooLow:
        return "stack top " + hex(p.limit) + " is too low for " + std::to_string(p.value) +
               " bytes of initial stack";
    default:
        return exec::message(p.status);
    }
}

// The strings packed as the stack holds them. An embedded NUL would
// silently split a string in two, so it is refused here, by position.
Result<std::string> pack(const std::vector<std::string>& strings, const char* what) {
    std::string block;
    for (size_t i = 0; i < strings.size(); i++) {
        if (strings[i].find('\0') != std::string::npos)
            return bad(std::string(what) + " " + std::to_string(i) + " contains a NUL byte");
        block += strings[i];
        block += '\0';
    }
    return block;
}

}  // namespace

Result<StackImage> build_initial_stack(const StackSpec& spec) {
    // Counts first, so that a huge vector is refused before being copied.
    exec::StackSpec fs;
    fs.stack_top = spec.stack_top;
    fs.argv.count = spec.argv.size();
    fs.envp.count = spec.envp.size();
    if (spec.argv.size() > exec::kMaxStrings || spec.envp.size() > exec::kMaxStrings) {
        uint64_t unused;
        return bad(describe(exec::measure_stack(fs, &unused)));
    }
    const std::string argv = TRY(pack(spec.argv, "argument"));
    const std::string envp = TRY(pack(spec.envp, "environment variable"));
    fs.argv = {argv.data(), argv.size(), spec.argv.size()};
    fs.envp = {envp.data(), envp.size(), spec.envp.size()};
    fs.auxv = spec.auxv.data();
    fs.auxc = spec.auxv.size();
    fs.random = spec.random.data();
    fs.execfn = {spec.execfn.data(), spec.execfn.size()};
    fs.platform = {spec.platform.data(), spec.platform.size()};
    fs.max_size = spec.max_size;

    uint64_t size = 0;
    if (Problem p = exec::measure_stack(fs, &size); !p.ok())
        return bad(describe(p));
    StackImage image;
    image.bytes.resize(size);
    if (Problem p = exec::build_stack(fs, image.bytes.data(), image.bytes.size(), &image.sp); !p.ok())
        return bad(describe(p));
    return image;
}

}  // namespace lightvm::loader
