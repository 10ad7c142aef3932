// Extended attributes: getxattr/setxattr/listxattr/removexattr and their
// l* (the link itself) and f* (a descriptor) forms. Files in shares carry
// the host file's user.* attributes (the monitor passes them through where
// the host file system supports them); tmpfs files keep theirs in guest
// memory (fs/tmpfs.cpp). Other namespaces (security.*, trusted.*, system.*)
// are EOPNOTSUPP, as on a file system without them; lists name user.* only.
// The kernel's own files (/proc, /dev, pipes) have none. man 2 getxattr.
#include "kernel/errno.hpp"
#include "kernel/fs/dir_cache.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/fsnotify.hpp"
#include "kernel/fs/sys_fs_common.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/syscalls/frame.hpp"

namespace lightvm::guest {

using namespace fs_sys;

namespace {

constexpr size_t kNameMax = 255;        // XATTR_NAME_MAX
constexpr uint64_t kSizeMax = 65536;    // XATTR_SIZE_MAX
constexpr uint32_t kCreate = 1, kReplace = 2;  // XATTR_CREATE, XATTR_REPLACE

// One call's arguments, copied in before the file is looked up (Linux
// checks the name and the value's size first, then the path).
struct XattrCall {
    uint32_t op;        // abi::FsXattrOp
    uint32_t set_flags;
    char name[kNameMax + 1];
    size_t name_len;
    uint64_t user_buf;  // value (get/set) or list buffer
    uint64_t size;
};

// The value or list passes through kernel memory: contiguous for the
// monitor, and user memory is never handed to the host. The kernel is
// entered by one task at a time (see sys_fs_dirs.cpp's buffers).
uint8_t g_value[kSizeMax];

long prepare(XattrCall& c, uint32_t op, uint64_t name, uint64_t buf, uint64_t size, uint32_t flags) {
    c.op = op;
    c.set_flags = flags;
    c.user_buf = buf;
    c.size = size;
    c.name_len = 0;
    if (op == abi::kXattrSet && (flags & ~(kCreate | kReplace)))
        return -err::kInval;
    if (op != abi::kXattrList) {
        long n = strncpy_from_user(c.name, name, sizeof c.name);
        if (n == -err::kNameTooLong || n == 0)
            return -err::kRange;  // Linux: an empty or over-long name
        if (n < 0)
            return n;
        c.name_len = static_cast<size_t>(n);
    }
    if (op == abi::kXattrSet) {
        if (size > kSizeMax)
            return -err::k2Big;
        if (copy_from_user(g_value, buf, size) < 0)
            return -err::kFault;
    } else if (size > kSizeMax) {
        c.size = kSizeMax;  // Linux clamps get and list buffers
    }
    return 0;
}

bool user_namespace(const XattrCall& c) {
    return c.op == abi::kXattrList || (c.name_len > 5 && memcmp(c.name, "user.", 5) == 0);
}

bool changes(const XattrCall& c) { return c.op == abi::kXattrSet || c.op == abi::kXattrRemove; }

// The answer of a get or list (in g_value) goes to the program.
long deliver(const XattrCall& c, long r) {
    if (r <= 0 || c.size == 0 || (c.op != abi::kXattrGet && c.op != abi::kXattrList))
        return r;
    return copy_to_user(c.user_buf, g_value, static_cast<size_t>(r)) < 0 ? -err::kFault : r;
}

abi::HcFs share_request(abi::HcFs req, const XattrCall& c, bool follow) {
    req.flags = c.op | (follow ? 0 : abi::kXattrNoFollow);
    req.mode = c.set_flags;
    req.offset = static_cast<int64_t>(kernel_to_gpa(c.name));
    req.offset2 = static_cast<int64_t>(c.name_len);
    req.buf = kernel_to_gpa(g_value);
    req.len = c.size;
    return req;
}

long on_file_inner(OpenFile* f, const XattrCall& c);
long on_file(OpenFile* f, const XattrCall& c) {
    long r = on_file_inner(f, c);
    return changes(c) ? file_notify_if(r, f, FileEvent::Attrib) : r;
}

// Files that are neither in a share nor in a tmpfs: no attributes at all.
long kernel_file(const XattrCall& c) { return c.op == abi::kXattrList ? 0 : -err::kOpNotSupp; }

long on_file_inner(OpenFile* f, const XattrCall& c) {
    if (f->kind == FileKind::TmpFile || f->kind == FileKind::TmpDir)
        return deliver(c, tmpfs_fxattr(f, c.op, c.name, c.name_len, g_value, c.size, c.set_flags));
    if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
        return kernel_file(c);
    if (!user_namespace(c))
        return -err::kOpNotSupp;
    abi::HcFs req = share_request(fs_request(abi::kFsXattr), c, true);
    long h = share_dir_handle(f);  // a directory opened from the listing cache
    if (h < 0)
        return h;
    req.handle = static_cast<uint32_t>(h);
    return deliver(c, fs_call(req));
}

long on_path(PathArg& p, const XattrCall& c, bool follow) {
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (OpenFile* f = linked_file(res); f && follow)
            return on_file(f, c);
        if (res.in_tmpfs) {
            r = deliver(c, tmpfs_xattr(res, c.op, c.name, c.name_len, g_value, c.size, c.set_flags));
            return changes(c) ? fsnotify_attrib_if(r, res) : r;
        }
        if (!res.in_share)
            return kernel_file(c);
        if (!user_namespace(c))
            return -err::kOpNotSupp;
        abi::HcFs req = share_request(redirectable(p, path_request(abi::kFsXattr, res)), c, follow);
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return changes(c) ? fsnotify_attrib_if(r, res) : deliver(c, r);
    }
}

long path_call(const SyscallArgs& a, uint32_t op, bool follow, uint64_t name, uint64_t buf, uint64_t size,
               uint32_t flags) {
    static XattrCall c;
    long r = prepare(c, op, name, buf, size, flags);
    if (r < 0)
        return r;
    return with_user_path(AT_FDCWD, a.a0, [&](PathArg& p) { return on_path(p, c, follow); });
}

long fd_call(const SyscallArgs& a, uint32_t op, uint64_t name, uint64_t buf, uint64_t size, uint32_t flags) {
    static XattrCall c;
    long r = prepare(c, op, name, buf, size, flags);
    if (r < 0)
        return r;
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? on_file(f, c) : -err::kBadF;
}

uint32_t flags_arg(uint64_t reg) { return static_cast<uint32_t>(reg); }

}  // namespace

long sys_setxattr(const SyscallArgs& a) {
    return path_call(a, abi::kXattrSet, true, a.a1, a.a2, a.a3, flags_arg(a.a4));
}
long sys_lsetxattr(const SyscallArgs& a) {
    return path_call(a, abi::kXattrSet, false, a.a1, a.a2, a.a3, flags_arg(a.a4));
}
long sys_fsetxattr(const SyscallArgs& a) { return fd_call(a, abi::kXattrSet, a.a1, a.a2, a.a3, flags_arg(a.a4)); }
long sys_getxattr(const SyscallArgs& a) { return path_call(a, abi::kXattrGet, true, a.a1, a.a2, a.a3, 0); }
long sys_lgetxattr(const SyscallArgs& a) { return path_call(a, abi::kXattrGet, false, a.a1, a.a2, a.a3, 0); }
long sys_fgetxattr(const SyscallArgs& a) { return fd_call(a, abi::kXattrGet, a.a1, a.a2, a.a3, 0); }
long sys_listxattr(const SyscallArgs& a) { return path_call(a, abi::kXattrList, true, 0, a.a1, a.a2, 0); }
long sys_llistxattr(const SyscallArgs& a) { return path_call(a, abi::kXattrList, false, 0, a.a1, a.a2, 0); }
long sys_flistxattr(const SyscallArgs& a) { return fd_call(a, abi::kXattrList, 0, a.a1, a.a2, 0); }
long sys_removexattr(const SyscallArgs& a) { return path_call(a, abi::kXattrRemove, true, a.a1, 0, 0, 0); }
long sys_lremovexattr(const SyscallArgs& a) { return path_call(a, abi::kXattrRemove, false, a.a1, 0, 0, 0); }
long sys_fremovexattr(const SyscallArgs& a) { return fd_call(a, abi::kXattrRemove, a.a1, 0, 0, 0); }

}  // namespace lightvm::guest
