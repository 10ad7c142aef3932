// The file layer as the memory manager sees it: file mappings hold a
// reference on their open file and are filled with file_read.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/page_cache.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/stat.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

long mm_file_fill(OpenFile* f, void* dst, uint64_t len, uint64_t offset) {
    if (!f->ops->read)
        return -err::kInval;
    uint64_t done = 0;
    while (done < len) {
        // The file's own read, not file_read: page-ins are no read() (no IN_ACCESS).
        long n = f->ops->read(f, static_cast<char*>(dst) + done, len - done, static_cast<int64_t>(offset + done));
        if (n < 0)
            return n;
        if (n == 0)
            break;  // past the end of the file the mapping reads as zero
        done += static_cast<uint64_t>(n);
    }
    return static_cast<long>(done);
}

long mm_file_store(OpenFile* f, const void* src, uint64_t len, uint64_t offset) {
    if (!f->ops->write)
        return -err::kInval;
    return f->ops->write(f, src, len, static_cast<int64_t>(offset));  // no IN_MODIFY, as on Linux
}

int64_t mm_file_size(OpenFile* f) {
    Stat st;
    return file_stat(f, &st) < 0 ? -1 : st.size;
}

void mm_file_get(OpenFile* f) { file_get(f); }
bool mm_file_writable(OpenFile* f) { return (f->flags & O_ACCMODE) == O_RDWR; }

bool mm_file_has_frames(OpenFile* f) { return f->kind == FileKind::TmpFile; }

uint64_t mm_file_frame(OpenFile* f, uint64_t offset, long* err) {
    *err = 0;
    return f->kind == FileKind::TmpFile ? tmpfs_map_frame(f, offset, err) : 0;
}
uint64_t mm_file_cached(OpenFile* f, uint64_t offset, uint64_t ahead, long* err) {
    *err = 0;
    if (f->kind != FileKind::HostFile)
        return 0;
    uint64_t frame = page_cache_frame(f->handle, offset, ahead, err);
    if (!frame && *err == kPageCachePastEnd)
        *err = kMmPastEnd;
    return frame;
}

const char* mm_file_name(OpenFile* f) {
    static char link[abi::kMaxPath + 1];  // the kernel lock serialises users
    size_t n = proc_fd_link(f, link, abi::kMaxPath);
    link[n] = 0;
    return n && link[0] == '/' ? link : nullptr;
}

void mm_file_put(OpenFile* f) { file_put(f); }

bool mm_mapped_shared_writable(bool (*same)(const OpenFile*, uint32_t), uint32_t key) {
    for (Process* p = process_first(); p; p = process_next(p)) {
        if (!p->mm)
            continue;
        const AddressSpace& as = *p->mm;
        for (uint32_t i = 0; i < as.nvma; ++i) {
            const Vma& v = as.vmas[i];
            if (v.file && (v.flags & kVmShared) && (v.file->flags & O_ACCMODE) != O_RDONLY && same(v.file, key))
                return true;
        }
    }
    return false;
}

}  // namespace lightvm::guest
