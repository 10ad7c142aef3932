#include "kernel/event/event_file.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"

namespace lightvm::guest {

long event_install(FileKind kind, void* obj, uint32_t open_flags, bool cloexec) {
    OpenFile* f = file_alloc(kind, open_flags);
    if (!f)
        return -err::kNFile;
    f->event = obj;
    long fd = fd_install(f, 0, cloexec);
    if (fd < 0) {
        f->event = nullptr;  // the caller frees obj; release sees nothing to drop
        file_put(f);
    }
    return fd;
}

long anon_stat(OpenFile*, Stat* out) { return synthetic_stat(out, ident::kDevAnon, ident::kInoAnon, 0600, 0); }

}  // namespace lightvm::guest
