// execve and execveat: replace the calling process's program. Everything
// that can fail with an error the caller sees (the file, its format, `#!`
// interpreters, ld.so, the argument size, memory for the new address
// space) is checked before the point of no return; after it the old
// address space is gone and a failure kills the process with SIGSEGV, as
// Linux does.
#include "kernel/errno.hpp"
#include "kernel/exec/loader.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/kernel_open.hpp"
#include "kernel/fs/permission.hpp"
#include "kernel/fs/stat.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/rusage.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr size_t kMaxArgStrlen = 32 * kPage;  // MAX_ARG_STRLEN
constexpr size_t kMaxArgs = abi::kStackSize / 4;  // argv + envp bytes, Linux's default limit
constexpr int kMaxInterpDepth = 4;            // nested #! interpreters (Linux: 4 + 1)
constexpr size_t kHead = kPage;

// The new program's strings in one kernel buffer: argv then envp, packed.
struct ArgBuffer {
    char* buf = nullptr;
    size_t cap = 0, len = 0;
    uint32_t argc = 0, envc = 0;

    ~ArgBuffer() { kmem_free(buf, cap); }
    bool reserve(size_t n) {
        cap = n ? n : 1;
        buf = static_cast<char*>(kmem_alloc(cap));
        return buf != nullptr;
    }
    void add(const char* s, size_t n) {  // caller reserved room for s and its NUL
        memcpy(buf + len, s, n);
        buf[len + n] = 0;
        len += n + 1;
    }
    ProgramArgs args(const char* execfn) const {
        size_t argv_len = 0;
        for (uint32_t i = 0; i < argc; ++i)
            argv_len += strlen(buf + argv_len) + 1;
        ProgramArgs a;
        a.argv = {buf, argv_len, argc};
        a.envp = {buf + argv_len, len - argv_len, envc};
        a.execfn = {execfn, strlen(execfn)};
        return a;
    }
};

// Walks a user NULL-terminated array of string pointers; fn(ptr, len).
template <typename F>
long for_each_user_string(uint64_t array, F fn) {
    if (!array)
        return 0;  // Linux accepts a NULL argv/envp as empty
    for (uint64_t i = 0;; ++i) {
        uint64_t p;
        if (UserPtr<uint64_t>(array + 8 * i).read(p) < 0)
            return -err::kFault;
        if (!p)
            return 0;
        long n = strnlen_user(p, kMaxArgStrlen);
        if (n < 0)
            return n == -err::kNameTooLong ? -err::k2Big : n;
        if (long r = fn(p, static_cast<size_t>(n)); r < 0)
            return r;
    }
}

// Copies argv and envp out of the caller's memory (before its address
// space goes away).
long copy_args(uint64_t argv, uint64_t envp, ArgBuffer& out) {
    size_t total = 0;
    auto measure = [&](uint64_t, size_t n) -> long {
        total += n + 1;
        return total > kMaxArgs ? -err::k2Big : 0;
    };
    long r = for_each_user_string(argv, measure);
    if (r == 0)
        r = for_each_user_string(envp, measure);
    if (r < 0)
        return r;
    if (!out.reserve(total))
        return -err::kNoMem;
    uint32_t* count = &out.argc;
    auto copy = [&](uint64_t p, size_t n) -> long {
        if (out.len + n + 1 > out.cap || copy_from_user(out.buf + out.len, p, n) < 0)
            return -err::kFault;  // the caller changed its strings under us
        out.buf[out.len + n] = 0;
        out.len += n + 1;
        (*count)++;
        return 0;
    };
    r = for_each_user_string(argv, copy);
    count = &out.envc;
    return r < 0 ? r : for_each_user_string(envp, copy);
}

// /proc/self/exe (or /proc/PID/exe of the caller): the program this
// process runs, also when that is the boot image, which has no file.
bool names_own_exe(const char* path) {
    if (!strcmp(path, "/proc/self/exe"))
        return true;
    char own[32] = "/proc/";
    char digits[12];
    int n = 0;
    for (uint32_t pid = current_process()->pid; pid; pid /= 10)
        digits[n++] = static_cast<char>('0' + pid % 10);
    size_t at = 6;
    while (n)
        own[at++] = digits[--n];
    memcpy(own + at, "/exe", 5);
    return !strcmp(path, own);
}

// The file to run: a regular file with an execute bit.
long open_exec(long dirfd, const char* path, bool empty_path, OpenFile** out, Stat* st) {
    if (names_own_exe(path) && current_process()->exe) {
        *out = current_process()->exe;
        file_get(*out);
        return 0;
    }
    if (empty_path && !*path) {
        OpenFile* f = fd_get(dirfd);
        if (!f)
            return -err::kBadF;
        file_get(f);
        *out = f;
    } else if (long r = kernel_open_at(dirfd, path, out); r < 0) {
        return r;
    }
    long r = file_stat(*out, st);
    if (r == 0 && (st->mode & S_IFMT) != S_IFREG)
        r = -err::kAcces;
    if (r == 0)  // execute permission (root: some x bit), read is not needed
        r = perm_may(*st, kMayExec);
    if (r < 0)
        file_put(*out);
    return r;
}

// "#!interp [arg]": Linux's rules: at most one argument (the rest of the
// line, trimmed), the line ends at the first newline or the page end.
bool parse_shebang(char* head, size_t n, char** interp, char** arg) {
    if (n < 2 || head[0] != '#' || head[1] != '!')
        return false;
    size_t end = 2;
    while (end < n && head[end] != '\n')
        ++end;
    head[end < n ? end : n - 1] = 0;
    char* p = head + 2;
    while (*p == ' ' || *p == '\t')
        ++p;
    *interp = p;
    while (*p && *p != ' ' && *p != '\t')
        ++p;
    if (*p)
        *p++ = 0;
    while (*p == ' ' || *p == '\t')
        ++p;
    char* tail = p + strlen(p);
    while (tail > p && (tail[-1] == ' ' || tail[-1] == '\t' || tail[-1] == '\r'))
        *--tail = 0;
    *arg = *p ? p : nullptr;
    return **interp != 0;
}

// argv becomes: interp [arg] path argv[1..]; the environment stays.
long rewrite_for_script(ArgBuffer& args, const char* interp, const char* arg, const char* path) {
    ArgBuffer next;
    const char* old_argv1 = args.buf;
    if (args.argc > 0)
        old_argv1 += strlen(args.buf) + 1;
    size_t rest = args.len - static_cast<size_t>(old_argv1 - args.buf);
    size_t need = strlen(interp) + 1 + (arg ? strlen(arg) + 1 : 0) + strlen(path) + 1 + rest;
    if (need > kMaxArgs)
        return -err::k2Big;
    if (!next.reserve(need))
        return -err::kNoMem;
    next.add(interp, strlen(interp));
    if (arg)
        next.add(arg, strlen(arg));
    next.add(path, strlen(path));
    memcpy(next.buf + next.len, old_argv1, rest);
    next.len += rest;
    next.argc = (args.argc > 0 ? args.argc - 1 : 0) + (arg ? 3 : 2);
    next.envc = args.envc;
    kmem_free(args.buf, args.cap);
    args = next;
    next.buf = nullptr;
    return 0;
}

// Everything checked: the program file (after #! resolution), its
// headers, its interpreter, the strings.
struct Prepared {
    OpenFile* file = nullptr;
    OpenFile* interp = nullptr;
    uint8_t* head = nullptr;
    size_t head_len = 0;
    uint64_t size = 0;
    const char* name = nullptr;  // the path of the file run (the last #! interpreter's)
    Stat st{};                   // its attributes: set-user-ID and set-group-ID bits
    elf::Image img;
    ~Prepared() {
        if (file)
            file_put(file);
        if (interp)
            file_put(interp);
        kmem_free(head, kHead);
    }
};

long read_head(Prepared& pr) {
    Stat st;
    if (long r = file_stat(pr.file, &st); r < 0)
        return r;
    pr.size = static_cast<uint64_t>(st.size);
    long n = file_read(pr.file, pr.head, kHead, 0);
    if (n < 0)
        return n;
    pr.head_len = static_cast<size_t>(n);
    return 0;
}

// The headers in pr.head (the file's, or the boot image's when pr.file is
// null) and, for a dynamic program, its interpreter opened.
long parse_and_open_interp(Prepared& pr) {
    ProgramSource src{pr.file, pr.head, pr.head_len, pr.size, nullptr};
    if (long r = exec_parse(src, &pr.img); r < 0)
        return r;
    if (!pr.img.has_interp)
        return 0;
    const char* ip = exec_interp_path(pr.img, src);
    return ip ? kernel_open(ip, &pr.interp) : -err::kNoExec;
}

// The boot program again (exec of /proc/self/exe by the first program or
// a child that has not exec'd since): its image is still in guest memory.
long use_boot_image(Prepared& pr) {
    const abi::BootInfo& b = boot();
    size_t n = b.image_size < kHead ? b.image_size : kHead;
    memcpy(pr.head, phys_to_virt(b.image_gpa), n);
    pr.head_len = n;
    pr.size = b.image_size;
    return parse_and_open_interp(pr);
}

long prepare(long dirfd, const char* path, bool empty_path, ArgBuffer& args, Prepared& pr) {
    pr.head = static_cast<uint8_t*>(kmem_alloc(kHead));
    if (!pr.head)
        return -err::kNoMem;
    const char* name = path;
    static char interp_path[kMaxInterpDepth][256];
    for (int depth = 0;; ++depth) {
        if (depth == 0 && names_own_exe(name) && !current_process()->exe) {
            pr.name = name;
            return use_boot_image(pr);
        }
        if (long r = open_exec(dirfd, name, empty_path && depth == 0, &pr.file, &pr.st); r < 0)
            return r;
        if (long r = read_head(pr); r < 0)
            return r;
        char *interp, *arg;
        if (!parse_shebang(reinterpret_cast<char*>(pr.head), pr.head_len, &interp, &arg))
            break;
        if (depth + 1 >= kMaxInterpDepth)
            return -err::kLoop;
        if (long r = rewrite_for_script(args, interp, arg, name); r < 0)
            return r;
        size_t n = strlen(interp);
        if (n >= sizeof interp_path[0])
            return -err::kNameTooLong;
        memcpy(interp_path[depth], interp, n + 1);
        name = interp_path[depth];
        dirfd = AT_FDCWD;
        file_put(pr.file);
        pr.file = nullptr;
    }
    pr.name = name;
    return parse_and_open_interp(pr);
}

// The program's set-user-ID and set-group-ID bits take effect (not with
// PR_SET_NO_NEW_PRIVS, as Linux), then the capabilities follow the new ids.
void exec_creds(Process* p, const Stat& st) {
    Credentials& c = p->cred;
    if (!p->attrs.no_new_privs) {
        if (st.mode & S_ISUID)
            c.euid = st.uid;
        if ((st.mode & S_ISGID) && (st.mode & S_IXGRP))
            c.egid = st.gid;
    }
    c.suid = c.fsuid = c.euid;
    c.sgid = c.fsgid = c.egid;
    caps_on_exec();
}

void set_comm(Task* t, const char* path) {
    const char* base = path;
    for (const char* p = path; *p; ++p)
        if (*p == '/')
            base = p + 1;
    size_t n = strlen(base);
    if (n > sizeof t->comm - 1)
        n = sizeof t->comm - 1;
    memset(t->comm, 0, sizeof t->comm);
    memcpy(t->comm, base, n);
}

// The new program starts like the first one: clean registers, its entry,
// its stack.
void start_frame(const ProgramStart& start) {
    SyscallFrame* f = current_frame();
    uint64_t cs = f->cs, ss = f->ss;
    memset(f, 0, sizeof *f);
    f->rip = start.entry;
    f->rsp = start.sp;
    f->rflags = 0x202;
    f->cs = cs;
    f->ss = ss;
}

// The process's own descriptor table from now on, without FD_CLOEXEC ones.
void exec_files(Process* p) {
    if (p->files->users > 1) {
        if (FdTable* own = fd_table_copy(*p->files)) {
            fd_table_put(p->files);
            p->files = own;
        }
    }
    fd_table_close_on_exec(*p->files);
}

// /proc/self/exe from now on: the file (nullptr: the boot image again)
// and the absolute path it was found by.
void set_exe(Process* p, OpenFile* file, const char* path) {
    if (file)
        file_get(file);  // first: it may be the same file as before
    if (p->exe)
        file_put(p->exe);
    p->exe = file;
    if (!file)
        memset(p->exe_path, 0, sizeof p->exe_path);
    if (!file || names_own_exe(path))
        return;  // the same program again: its path stays
    memset(p->exe_path, 0, sizeof p->exe_path);
    size_t at = 0;
    if (path[0] != '/') {
        size_t n = p->fs->cwd_len < sizeof p->exe_path - 1 ? p->fs->cwd_len : sizeof p->exe_path - 1;
        memcpy(p->exe_path, p->fs->cwd, n);
        at = n;
        if (at && p->exe_path[at - 1] != '/' && at < sizeof p->exe_path - 1)
            p->exe_path[at++] = '/';
    }
    size_t n = strlen(path);
    if (n > sizeof p->exe_path - 1 - at)
        n = sizeof p->exe_path - 1 - at;
    memcpy(p->exe_path + at, path, n);
}

// Past the point of no return: swap the address space and load.
long replace_image(Prepared& pr, const ArgBuffer& args, const char* execfn) {
    Process* p = current_process();
    AddressSpace* fresh = as_create();
    if (!fresh)
        return -err::kNoMem;
    fresh->image_gpa = boot().image_gpa;  // kVmImage mappings of the boot program
    AddressSpace* old = p->mm;
    if (old->users == 1)
        as_writeback(*old, kUserMin, kUserMax);  // its MAP_SHARED file pages reach their files
    p->mm = fresh;
    mm_load_root(fresh->root);
    rusage_note_mm(p, *old);  // ru_maxrss outlives the exec
    as_put(old);
    ProgramSource src{pr.file, pr.head, pr.head_len, pr.size, pr.interp};
    ProgramStart start;
    if (exec_load(src, pr.img, args.args(execfn), &start).err)
        process_kill_self(SIGSEGV);
    Task* t = current();
    sched_release_vfork(t);
    exec_files(p);
    exec_creds(p, pr.st);
    signals_exec(*p);
    set_exe(p, pr.file, pr.name);
    set_comm(t, execfn);
    t->clear_child_tid = 0;
    sched_set_user_fs_base(0);
    start_frame(start);
    return 0;
}

long do_execve(long dirfd, uint64_t upath, uint64_t argv, uint64_t envp, uint64_t flags) {
    if (flags & ~uint64_t(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
        return -err::kInval;
    char* path = static_cast<char*>(kmem_alloc(abi::kMaxPath));
    if (!path)
        return -err::kNoMem;
    long r = strncpy_from_user(path, upath, abi::kMaxPath);
    ArgBuffer args;
    if (r >= 0)
        r = copy_args(argv, envp, args);
    if (r >= 0 && !*path && !(flags & AT_EMPTY_PATH))
        r = -err::kNoEnt;
    {
        Prepared pr;
        if (r >= 0)
            r = prepare(dirfd, path, flags & AT_EMPTY_PATH, args, pr);
        if (r >= 0)
            r = process_single_thread();
        if (r >= 0)
            r = replace_image(pr, args, path);
    }
    kmem_free(path, abi::kMaxPath);
    return r;
}

}  // namespace

// A process the host started (exec/spawn.cpp) runs its program: the
// strings are the request's, in kernel memory; the caller's address space
// is the empty one it was made with.
long exec_from_kernel(const char* path, const char* strings, size_t len, uint32_t argc, uint32_t envc) {
    ArgBuffer args;
    if (!args.reserve(len))
        return -err::kNoMem;
    memcpy(args.buf, strings, len);
    args.len = len;
    args.argc = argc;
    args.envc = envc;
    Prepared pr;
    long r = prepare(AT_FDCWD, path, false, args, pr);
    return r < 0 ? r : replace_image(pr, args, path);
}

long sys_execve(const SyscallArgs& a) { return do_execve(AT_FDCWD, a.a0, a.a1, a.a2, 0); }

long sys_execveat(const SyscallArgs& a) { return do_execve(fd_arg(a.a0), a.a1, a.a2, a.a3, a.a4); }

}  // namespace lightvm::guest
