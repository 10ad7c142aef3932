#include "common/result.hpp"

#include <cstring>

namespace lightvm {

std::string Error::to_string() const {
    std::string text = where;
    if (!text.empty())
        text += ": ";
    if (!message.empty())
        text += message;
    else if (code != 0)
        text += std::strerror(code);
    else
        text += "unknown error";
    // One line, always: a hostile guest must not be able to forge extra lines.
    for (char& c : text)
        if (c == '\n' || c == '\r')
            c = ' ';
    return text;
}

tl::unexpected<Error> sys_error(std::string where, int code) {
    ErrorKind kind = code == ENOENT ? ErrorKind::NotFound : ErrorKind::System;
    return tl::unexpected(Error{kind, code, std::move(where), {}});
}

tl::unexpected<Error> make_error(ErrorKind kind, std::string where, std::string message) {
    return tl::unexpected(Error{kind, 0, std::move(where), std::move(message)});
}

}  // namespace lightvm
