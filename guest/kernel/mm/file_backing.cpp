// The file layer as the memory manager sees it: file mappings hold a
// reference on their open file and are filled with file_read.
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/stat.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/mm/address_space.hpp"

namespace lightvm::guest {

long mm_file_fill(OpenFile* f, void* dst, uint64_t len, uint64_t offset) {
    uint64_t done = 0;
    while (done < len) {
        long n = file_read(f, static_cast<char*>(dst) + done, len - done, static_cast<int64_t>(offset + done));
        if (n < 0)
            return n;
        if (n == 0)
            break;  // past the end of the file the mapping reads as zero
        done += static_cast<uint64_t>(n);
    }
    return static_cast<long>(done);
}

long mm_file_store(OpenFile* f, const void* src, uint64_t len, uint64_t offset) {
    return file_write(f, src, len, static_cast<int64_t>(offset));
}

int64_t mm_file_size(OpenFile* f) {
    Stat st;
    return file_stat(f, &st) < 0 ? -1 : st.size;
}

void mm_file_get(OpenFile* f) { file_get(f); }

bool mm_file_has_frames(OpenFile* f) { return f->kind == FileKind::TmpFile; }

uint64_t mm_file_frame(OpenFile* f, uint64_t offset, long* err) {
    *err = 0;
    return f->kind == FileKind::TmpFile ? tmpfs_map_frame(f, offset, err) : 0;
}
void mm_file_put(OpenFile* f) { file_put(f); }

}  // namespace lightvm::guest
