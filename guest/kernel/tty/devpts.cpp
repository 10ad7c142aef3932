#include "kernel/tty/devpts.hpp"

#include "kernel/kernel.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"
#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

constexpr char kDir[] = "/dev/pts/";

// "N" in decimal without leading zeros, as devpts names slaves.
bool parse_index(const char* s, size_t n, uint32_t* out) {
    if (n == 0 || n > 4 || (n > 1 && s[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + static_cast<uint32_t>(s[i] - '0');
    }
    *out = v;
    return true;
}

char g_name[12];  // the entry devpts_entry returned last (one reader at a time: the kernel lock)

}  // namespace

bool devpts_lookup(const char* path, size_t len, uint32_t* index) {
    const size_t dlen = sizeof kDir - 1;
    if (len <= dlen || memcmp(path, kDir, dlen) != 0)
        return false;
    return parse_index(path + dlen, len - dlen, index) && pty_find(*index);
}

bool devpts_entry(uint32_t index, DirEntry* out) {
    Pty* p = pty_nth(index);
    if (!p)
        return false;
    TextBuffer name(g_name, sizeof g_name);
    name.udec(p->index);
    *out = {g_name, name.size(), p->index + 3, DT_CHR};
    return true;
}

}  // namespace lightvm::guest
