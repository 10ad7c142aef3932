#include "snapshot/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>

#include "common/file_io.hpp"
#include "common/unique_fd.hpp"
#include "lightvm/abi.h"
#include "snapshot/format.hpp"

namespace lightvm::snapshot {

Result<bool> saved_with_network(int mem_fd, const std::string& mem_path) {
    uint32_t mode = abi::kNetModeNone;
    TRY(read_all_at(mem_fd, &mode, sizeof mode, abi::kBootInfoGpa + offsetof(abi::BootInfo, net_mode), mem_path));
    return mode == abi::kNetModeHost;
}

Result<std::vector<uint8_t>> read_state_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return make_error(ErrorKind::NotFound, "snapshot", path + ": No such file or directory");
        return sys_error("open " + path);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return sys_error("fstat " + path);
    if (!S_ISREG(st.st_mode) || uint64_t(st.st_size) > snapshot::kMaxStateSize)
        return make_error(ErrorKind::BadInput, "snapshot",
                          path + ": not a lightvm snapshot (not a regular file of at most 16 MiB)");
    std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
        ssize_t n = ::pread(fd.get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return sys_error("read " + path);
        got += size_t(n);
    }
    return bytes;
}

}  // namespace lightvm::snapshot
