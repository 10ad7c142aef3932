// Result<T>: the one error type used across lightvm's host code.
//
// Errors carry an errno-style code, the failing call ("open", "KVM_RUN",
// "elf") and a human message; to_string() gives the one-line form the CLI
// prints. No exceptions cross module boundaries.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <tl/expected.hpp>

namespace lightvm {

// What kind of failure, so the CLI can choose an exit code without parsing text.
enum class ErrorKind {
    System,       // a host call failed; code holds errno
    NotFound,     // a file the user named does not exist
    BadInput,     // user input is malformed (flag, size, path)
    BadExecutable,// the program to run cannot be loaded
    GuestFault,   // the guest broke the rules (hostile or buggy guest)
    Unsupported,  // valid, but not implemented / not available here
};

struct Error {
    ErrorKind kind = ErrorKind::System;
    int code = 0;          // errno, or 0
    std::string where;     // failing call or subsystem, e.g. "KVM_CREATE_VM"
    std::string message;   // what went wrong, for humans

    // "where: message" or "where: strerror(code)"; single line.
    std::string to_string() const;
};

template <class T>
using Result = tl::expected<T, Error>;

// Build an unexpected value from the current errno: `return sys_error("open " + path);`
tl::unexpected<Error> sys_error(std::string where, int code = errno);
tl::unexpected<Error> make_error(ErrorKind kind, std::string where, std::string message);

namespace detail {
// The value of a Result for TRY(); nothing for Result<void>.
template <class R>
auto unwrap(R&& r) {
    if constexpr (std::is_void_v<typename std::remove_cvref_t<R>::value_type>)
        return;
    else
        return std::move(*r);
}
}  // namespace detail

}  // namespace lightvm

// TRY(expr): evaluate a Result; on error return it from the enclosing
// function, otherwise yield the value. GNU statement expression: both
// g++ and clang support it and it keeps error paths to one line.
#define LIGHTVM_CONCAT_(a, b) a##b
#define LIGHTVM_CONCAT(a, b) LIGHTVM_CONCAT_(a, b)
#define TRY(expr)                                                        \
    ({                                                                   \
        auto&& LIGHTVM_CONCAT(try_r_, __LINE__) = (expr);                \
        if (!LIGHTVM_CONCAT(try_r_, __LINE__))                           \
            return tl::unexpected(                                       \
                std::move(LIGHTVM_CONCAT(try_r_, __LINE__)).error());    \
        ::lightvm::detail::unwrap(std::move(LIGHTVM_CONCAT(try_r_, __LINE__))); \
    })
