// File-system device, host half: serves kHcFs hypercalls against host
// directory shares (--fs / --rootfs).
//
// The guest is hostile. Every name it sends is resolved with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) below the share root, so
// `..`, absolute symlinks and symlink races all stay inside the share, and
// /proc magic links are refused. Operations on a name (mkdir, unlink, ...)
// resolve the parent that way and hand the kernel only the last component,
// with syscalls that do not follow it; operations that do follow a final
// symlink (chmod, utimens, access, stat) resolve the whole path to an O_PATH
// fd first and then act on that fd. Only regular files and directories can
// be opened for I/O: FIFOs, sockets and device nodes inside a share are
// refused before they are opened, so they can neither block the monitor nor
// have open-time side effects.
//
// A path may also be relative to a directory handle (HcFs.handle); such a
// path is resolved with RESOLVE_BENEATH: leaving the directory (`..` above
// it, absolute symlinks) fails with EXDEV instead of silently naming
// something else. The guest kernel sends share-relative paths, so this is
// only a fallback.
//
// Set-user-ID bits never reach the host, nor set-group-ID on files: the
// monitor may run as root, and a guest must not be able to plant a
// privileged executable in a host directory.
//
// Needs Linux 5.8 (openat2, faccessat2, utimensat with AT_EMPTY_PATH).
// chmod uses fchmodat2 (6.6) and falls back to /proc/self/fd before that.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "memory/guest_memory.hpp"

struct stat;

namespace lightvm {

namespace abi {
struct HcFs;
struct FsLock;
}
namespace snapshot {
struct HandleState;
}

struct FsShare {
    std::string host_path;
    std::string guest_path;
    bool read_only = false;
    // The mapped ownership model (devices/fs_owner.hpp): the guest's owner,
    // group and mode are the user.lightvm.owner attribute's, not the host's.
    bool mapped = false;
    // Set by FsDevice::create when host_path is a regular file: a bind of
    // one file. Its root is that file, held open since create as a bind
    // mount pins its inode: only the empty path names anything (the file),
    // every other path is ENOTDIR, and the host's siblings of the file are
    // never reachable.
    bool file = false;
};

class FsDevice {
public:
    // Open file handles the guest may hold at once (the guest sees EMFILE beyond).
    static constexpr uint32_t kMaxHandles = 4096;
    // One sendfile request moves at most this much, as one Linux sendfile
    // call does (MAX_RW_COUNT): a short count, and the guest asks again.
    static constexpr uint64_t kMaxTransfer = 0x7ffff000;
    // getdents requests are clamped to this many bytes.
    static constexpr uint64_t kMaxDirentBytes = 1ull << 20;

    // Opens each share's host directory or single file (O_PATH|O_CLOEXEC).
    // Errors are one line naming the flag and path: NotFound
    // "--fs /x: No such file or directory", BadInput "--fs /dev/null: not
    // a directory or regular file", other host failures as System errors
    // with errno. At most abi::kMaxMounts shares.
    static Result<FsDevice> create(std::vector<FsShare> shares);

    FsDevice(FsDevice&&) noexcept = default;
    FsDevice& operator=(FsDevice&&) noexcept = default;
    FsDevice(const FsDevice&) = delete;
    FsDevice& operator=(const FsDevice&) = delete;

    // One kHcFs hypercall: read HcFs at arg_gpa, perform it, write
    // result/aux back. Host errors become result = -errno. A guest range
    // outside guest memory or an unknown op is an ErrorKind::GuestFault
    // error (nothing is written back; the VM is stopped).
    Result<void> hypercall(GuestMemory& mem, uint64_t arg_gpa);

    // Host streams that kFsSendfile may target (the guest's stdout/stderr).
    void set_streams(int stdout_fd, int stderr_fd) {
        m_stdout_fd = stdout_fd;
        m_stderr_fd = stderr_fd;
    }

    // The running executable (st_dev, st_ino): its pages are mapped into
    // guest RAM, so, as on Linux, opening it for writing or truncating it
    // is ETXTBSY. (Replacing it by rename or unlink is fine: the inode lives.)
    void set_busy_file(uint64_t dev, uint64_t ino) { m_busy.push_back({dev, ino}); }

    // Performs the guest's unsent write-behind data (abi::PendingWrite table
    // at gpa) after the VM ended without a clean exit. Entries are guest data
    // and are checked like any request. Returns the number of writes done.
    Result<size_t> apply_pending(GuestMemory& mem, uint64_t table_gpa, uint32_t count);

    const std::vector<FsShare>& shares() const { return m_shares; }
    int root_fd(size_t share) const { return m_roots[share].get(); }
    size_t open_handles() const { return m_open_handles; }
    // Snapshots (devices/fs_snapshot.cpp): every open handle by its path
    // below its share, position, open flags and identity; and at restore the
    // same files reopened under the same handle numbers, refused with one
    // line when one is gone or changed.
    Result<std::vector<snapshot::HandleState>> save_handles() const;
    Result<void> restore_handles(const std::vector<snapshot::HandleState>& handles);
    uint64_t operations() const { return m_operations; }
    // Requests by FsOp (abi.h), batched ones included: what --stats shows.
    const std::array<uint64_t, 33>& requests() const { return m_requests; }

private:
    struct Handle {
        UniqueFd fd;
        uint32_t share = 0;
        bool read_only = false;
    };
    // A resolved path: an fd we opened, or one borrowed from a handle/root.
    struct Target {
        UniqueFd owned;
        int fd = -1;
    };
    // A path split into its parent directory (opened) and last component.
    struct Named {
        std::string path;    // the whole request path
        Target parent;
        std::string name;    // last component, no trailing slash; may be "", "." or ".."
        bool trailing_slash = false;
    };
    // What a request's path is relative to.
    struct Base {
        int fd = -1;
        uint32_t share = 0;
        bool read_only = false;
        bool is_handle = false;  // resolve beneath a directory handle, not a share root
        bool file_root = false;  // a single-file share's root (FsShare::file)
    };

    FsDevice() = default;

    Result<int64_t> dispatch(GuestMemory& mem, abi::HcFs& hc);

    Result<int64_t> op_open(GuestMemory& mem, abi::HcFs& hc);
    Result<int64_t> with_stat(GuestMemory& mem, const abi::HcFs& hc, Result<int64_t> opened);
    int64_t op_close(const abi::HcFs& hc);
    Result<int64_t> op_read(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_sendfile(abi::HcFs& hc);
    Result<int64_t> op_getdents_plus(GuestMemory& mem, abi::HcFs& hc);
    static uint64_t link_record(int dirfd, const char* name, uint32_t index, std::span<uint8_t> out);
    // kFsListTree (fs_tree.cpp).
    struct TreeOut {
        std::span<uint8_t> out;
        uint32_t share = 0;  // whose files are listed (their stats go through guest_view())
        uint64_t used = 0;
        uint32_t blocks = 0;
    };
    Result<int64_t> op_list_tree(GuestMemory& mem, abi::HcFs& hc);
    bool tree_block(int fd, const std::string& rel, TreeOut& t, uint64_t limit, const Handle* root,
                    std::vector<std::string>& subdirs);
    bool tree_walk(int fd, std::string& rel, const std::vector<std::string>& names, TreeOut& t, uint64_t limit,
                   uint32_t depth);
    uint8_t* tree_scratch();
    enum class TreeEnd { Done, Full, NoRoom };
    bool subdir_names(int fd, std::vector<std::string>& out);
    TreeEnd tree_resume(int fd, std::string& rel, const std::vector<std::string>& comps, size_t at, TreeOut& t,
                        uint64_t limit, uint32_t depth);
    Result<int64_t> list_tree_resumed(GuestMemory& mem, abi::HcFs& hc, TreeOut& t);
    void hide_above_root(const Handle& h, uint8_t* buf, uint64_t n, uint8_t* stats, uint64_t cap);
    Result<int64_t> op_close_many(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_batch(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_realpath(GuestMemory& mem, const abi::HcFs& hc);
    // kFsOptRedirect: does `path` run into an absolute symlink? Then the
    // guest path to retry with. Only reads metadata below the share root.
    bool absolute_link_redirect(int root, const std::string& path, bool follow_last, std::string& rewritten);
    Result<bool> maybe_redirect(GuestMemory& mem, abi::HcFs& hc);
    Result<int64_t> op_write(GuestMemory& mem, abi::HcFs& hc);
    Result<int64_t> op_stat(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_fstat(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_getdents(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_mkdir(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_unlink(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_rename(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_readlink(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_symlink(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_link(GuestMemory& mem, const abi::HcFs& hc);
    int64_t op_truncate(const abi::HcFs& hc);
    int64_t op_fsync(const abi::HcFs& hc);
    Result<int64_t> op_utimens(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_chmod(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_access(GuestMemory& mem, const abi::HcFs& hc);
    int64_t op_seek(const abi::HcFs& hc);
    Result<int64_t> op_statfs(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_chown(GuestMemory& mem, const abi::HcFs& hc);
    int64_t op_fallocate(const abi::HcFs& hc);
    int64_t op_reopen(abi::HcFs& hc);
    Result<int64_t> op_mknod(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_xattr(GuestMemory& mem, const abi::HcFs& hc);
    Result<int64_t> op_lock(GuestMemory& mem, const abi::HcFs& hc);
    int64_t lock_set(const abi::FsLock& l, int fd);
    int64_t lock_get(abi::FsLock& l, int fd);
    int lock_fd(const abi::HcFs& hc, const abi::FsLock& l, UniqueFd* temporary);
    static int64_t list_user_xattrs(const std::string& proc_path, std::span<uint8_t> out);

    // The mapped ownership model (fs_owner.cpp, fs_owner.hpp).
    bool mapped(uint32_t share) const;
    // The stat the guest is shown of the file at fd, or of the entry `name`
    // of directory fd: every struct stat for the guest passes through here.
    void guest_view(uint32_t share, int fd, const char* name, struct stat& st) const;
    int64_t mapped_chown(int fd, bool o_path, int64_t uid, int64_t gid);
    int64_t mapped_chmod(int fd, bool o_path, uint32_t mode);
    int64_t mapped_access(int fd, uint32_t mode) const;
    void new_owner(const abi::HcFs& hc, uint32_t share, int dirfd, const char* name, uint32_t mode);

    // Path plumbing. Inner Results carry guest faults; the int64_t inside
    // is 0 or -errno for the guest.
    Handle* handle(uint32_t index);
    int64_t base(const abi::HcFs& hc, Base& out);
    int64_t share_base(uint32_t share, Base& out);
    static Result<int64_t> read_path(GuestMemory& mem, uint64_t gpa, uint64_t len, std::string& out);
    static uint64_t resolve_flags(const Base& base);
    int64_t resolve(const Base& base, const std::string& path, uint64_t flags, Target& out);
    // openat2 of `path` below the base (RESOLVE_IN_ROOT/BENEATH); for a
    // single-file share's root, the file itself reopened. Returns fd or -errno.
    static int open_below(const Base& base, const std::string& path, uint64_t flags, uint64_t mode);
    int64_t split_name(const Base& base, const std::string& path, Named& out);
    Result<int64_t> resolve_request(GuestMemory& mem, const abi::HcFs& hc, bool follow, Base& b, Target& out);
    Result<int64_t> name_request(GuestMemory& mem, const abi::HcFs& hc, Base& b, Named& out);
    Result<int64_t> two_names(GuestMemory& mem, const abi::HcFs& hc, Base& b, Named& from, Base& b2, Named& to);
    int64_t open_checked(abi::HcFs& hc, const Base& b, const std::string& path, uint32_t host_flags,
                         const struct stat* before);
    int64_t allocate(UniqueFd fd, const Base& base);

    std::vector<FsShare> m_shares;
    std::vector<UniqueFd> m_roots;
    std::vector<Handle> m_handles;  // index = guest handle; invalid fd = free slot
    size_t m_open_handles = 0;
    uint64_t m_operations = 0;
    std::array<uint64_t, 33> m_requests{};
    std::unique_ptr<uint8_t[]> m_tree_scratch;  // kFsListTree's listing buffer, allocated on first use
    int m_stdout_fd = -1, m_stderr_fd = -1;
    struct FileId {
        uint64_t dev, ino;
    };
    std::vector<FileId> m_busy;
    // kFsLock: per file (the guest's dev/ino), the description that holds
    // the guest's locks on the host (devices/fs_locks.cpp).
    std::map<std::pair<uint64_t, uint64_t>, UniqueFd> m_lock_fds;
    bool is_busy(const struct stat& st) const;
};

}  // namespace lightvm
