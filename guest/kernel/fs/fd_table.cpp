#include "kernel/fs/fd_table.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/locks.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr int kMaxFiles = 1024;
OpenFile g_files[kMaxFiles];
void (*g_unwatch)(OpenFile*);  // file_set_unwatch
FdTable g_boot_files;  // the first process's (the others' come from kmem)

// The current process's descriptors.
FdSlot* fds() { return current_process()->files->slots; }

constexpr int kPathSlots = 128;
constexpr size_t kPathSlotSize = 1024;
char g_paths[kPathSlots][kPathSlotSize];
bool g_path_used[kPathSlots];

}  // namespace

void fd_table_init() {
    // Nothing to do: FileKind::Free is 0 and .bss starts zeroed. Touching
    // the pool here would cost a guest page fault per page (~5 us each).
    static_assert(static_cast<int>(FileKind::Free) == 0);
}

OpenFile* file_alloc(FileKind kind, uint32_t flags) {
    for (auto& f : g_files) {
        if (f.kind != FileKind::Free)
            continue;
        memset(&f, 0, sizeof f);
        f.kind = kind;
        f.ops = file_ops_for(kind);
        f.refs = 1;
        f.flags = flags;
        return &f;
    }
    return nullptr;
}

void file_get(OpenFile* f) { f->refs++; }

bool file_set_path(OpenFile* f, const char* path, size_t len) {
    if (len + 1 > kPathSlotSize)
        return false;
    for (int i = 0; i < kPathSlots; ++i) {
        if (g_path_used[i])
            continue;
        g_path_used[i] = true;
        memcpy(g_paths[i], path, len);
        g_paths[i][len] = 0;
        f->path = g_paths[i];
        return true;
    }
    return false;
}

void file_set_unwatch(void (*fn)(OpenFile*)) { g_unwatch = fn; }

long file_put(OpenFile* f) {
    if (--f->refs > 0)
        return 0;
    if (f->ep_watchers && g_unwatch)
        g_unwatch(f);
    locks_file_released(f);
    file_notify(f, FileEvent::Closed);
    long err = f->ops->release ? f->ops->release(f) : 0;
    if (f->path) {
        int i = static_cast<int>((f->path - g_paths[0]) / kPathSlotSize);
        if (i >= 0 && i < kPathSlots)
            g_path_used[i] = false;
    }
    f->kind = FileKind::Free;
    return err;
}

OpenFile* fd_get(long fd) {
    if (fd < 0 || fd >= kMaxFds)
        return nullptr;
    return fds()[fd].file;
}

long fd_limit() {
    uint64_t soft = current_process()->rlimit[RLIMIT_NOFILE][0];
    return soft < static_cast<uint64_t>(kMaxFds) ? static_cast<long>(soft) : kMaxFds;
}

long fd_install(OpenFile* f, long min_fd, bool cloexec) {
    if (min_fd < 0)
        return -err::kInval;
    for (long i = min_fd, end = fd_limit(); i < end; ++i) {
        if (!fds()[i].file) {
            fds()[i] = {f, cloexec};
            return i;
        }
    }
    return -err::kMFile;
}

long fd_install_at(OpenFile* f, long fd, bool cloexec) {
    if (fd < 0 || fd >= kMaxFds)
        return -err::kBadF;
    OpenFile* old = fds()[fd].file;
    fds()[fd] = {f, cloexec};
    if (old) {
        locks_fd_closed(old, current_process()->files);
        file_put(old);
    }
    return fd;
}

long fd_close(long fd) {
    OpenFile* f = fd_get(fd);
    if (!f)
        return -err::kBadF;
    fds()[fd].file = nullptr;
    locks_fd_closed(f, current_process()->files);
    return file_put(f);  // a deferred write error surfaces here, as on Linux
}

bool fd_cloexec(long fd) { return fd >= 0 && fd < kMaxFds && fds()[fd].cloexec; }
void fd_set_cloexec(long fd, bool on) {
    if (fd >= 0 && fd < kMaxFds)
        fds()[fd].cloexec = on;
}

}  // namespace lightvm::guest

namespace lightvm::guest {

FdTable* fd_table_empty() {
    auto* t = static_cast<FdTable*>(kmem_alloc(sizeof(FdTable)));  // zeroed
    if (t)
        t->users = 1;
    return t;
}

FdTable* fd_table_copy(const FdTable& src) {
    auto* t = static_cast<FdTable*>(kmem_alloc(sizeof(FdTable)));
    if (!t)
        return nullptr;
    t->users = 1;
    for (int i = 0; i < kMaxFds; ++i) {
        if (OpenFile* f = src.slots[i].file) {
            file_get(f);
            t->slots[i] = src.slots[i];
        }
    }
    return t;
}

void fd_table_put(FdTable* t) {
    if (!t || --t->users > 0)
        return;
    locks_table_gone(t);
    for (auto& slot : t->slots) {
        if (OpenFile* f = slot.file) {
            slot.file = nullptr;
            file_put(f);
        }
    }
    if (t != &g_boot_files)
        kmem_free(t, sizeof(FdTable));
}

void fd_table_close_on_exec(FdTable& t) {
    for (auto& slot : t.slots) {
        if (slot.file && slot.cloexec) {
            OpenFile* f = slot.file;
            slot.file = nullptr;
            locks_fd_closed(f, &t);
            file_put(f);
        }
    }
}

FdTable* fd_table_boot() { return &g_boot_files; }

}  // namespace lightvm::guest
