#include "kernel/tty/devpts.hpp"

#include "kernel/kernel.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"
#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

constexpr char kDir[] = "/dev/pts/";

char g_name[12];  // the entry devpts_entry returned last (one reader at a time: the kernel lock)

}  // namespace

bool devpts_lookup(const char* path, size_t len, uint32_t* index) {
    const size_t dlen = sizeof kDir - 1;
    if (len <= dlen || memcmp(path, kDir, dlen) != 0)
        return false;
    return parse_canonical_u32(path + dlen, len - dlen, 4, index) && pty_find(*index);
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
