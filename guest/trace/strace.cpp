#include "trace/strace.hpp"

#include "kernel/syscalls/table.hpp"
#include "kernel/uapi.hpp"
#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

// How each argument is shown, one letter per raw argument register:
//   f fd (int; -100 is AT_FDCWD)      p path string          s short string
//   b caller buffer, length = next arg
//   B kernel-filled buffer, length = min(result, next arg), only once it succeeded
//   c kernel-filled C string (getcwd) Y kernel-filled int[2] (pipe fds)
//   t timespec in                      q timespec out (after success)
//   V argv array                       N envp (pointer and count)
//   P pointer (NULL or hex)            x hex                  u unsigned decimal
//   i int decimal                      l long decimal         m octal mode
//   n open() mode: only shown when the flags before it create a file
//   - raw register not shown (pos_h of preadv on 64-bit)
//   o open flags    O fd-creation flags (O_CLOEXEC|O_NONBLOCK, 0 as "0")
//   K fd flags (FD_CLOEXEC)          r mmap prot       M mmap flags
//   a arch_prctl code                k clock id        I ioctl request
//   w lseek whence                   A AT_* flags      E faccessat2 AT_* flags
//   X access() mode                  S signal          h sigprocmask how
//   R rlimit resource                v madvise advice  g getrandom flags
//   e mremap flags                   C clone flags     W wait options
//   D socket domain                  T socket type
//   F fcntl cmd, U futex op: the remaining arguments depend on the command.
// Result kinds: d decimal, x hex (addresses), m octal, ? no result,
// F fcntl (decodes F_GETFD/F_GETFL results).
constexpr char kArgLetters[] = "fpsbBcYtqVNPxuilmn-oOKrMaIkwAEXShRvgeCWDTFU";
constexpr char kResultKinds[] = "dxm?F";
// The names and formats of the calls themselves are the syscall table's
// (kernel/syscalls/table.def).

struct ErrnoInfo {
    int64_t value;
    const char* name;
    const char* text;
};
#define E(name, text) {name, #name, text}

// Values from the uapi headers; texts follow the usual C library wording so
// traces read like host strace output.
constexpr ErrnoInfo kErrnos[] = {
    E(EPERM, "Operation not permitted"),
    E(ENOENT, "No such file or directory"),
    E(ESRCH, "No such process"),
    E(EINTR, "Interrupted system call"),
    E(EIO, "Input/output error"),
    E(ENXIO, "No such device or address"),
    E(E2BIG, "Argument list too long"),
    E(ENOEXEC, "Exec format error"),
    E(EBADF, "Bad file descriptor"),
    E(ECHILD, "No child processes"),
    E(EAGAIN, "Resource temporarily unavailable"),
    E(ENOMEM, "Cannot allocate memory"),
    E(EACCES, "Permission denied"),
    E(EFAULT, "Bad address"),
    E(ENOTBLK, "Block device required"),
    E(EBUSY, "Device or resource busy"),
    E(EEXIST, "File exists"),
    E(EXDEV, "Invalid cross-device link"),
    E(ENODEV, "No such device"),
    E(ENOTDIR, "Not a directory"),
    E(EISDIR, "Is a directory"),
    E(EINVAL, "Invalid argument"),
    E(ENFILE, "Too many open files in system"),
    E(EMFILE, "Too many open files"),
    E(ENOTTY, "Inappropriate ioctl for device"),
    E(ETXTBSY, "Text file busy"),
    E(EFBIG, "File too large"),
    E(ENOSPC, "No space left on device"),
    E(ESPIPE, "Illegal seek"),
    E(EROFS, "Read-only file system"),
    E(EMLINK, "Too many links"),
    E(EPIPE, "Broken pipe"),
    E(EDOM, "Numerical argument out of domain"),
    E(ERANGE, "Numerical result out of range"),
    E(EDEADLK, "Resource deadlock avoided"),
    E(ENAMETOOLONG, "File name too long"),
    E(ENOLCK, "No locks available"),
    E(ENOSYS, "Function not implemented"),
    E(ENOTEMPTY, "Directory not empty"),
    E(ELOOP, "Too many levels of symbolic links"),
    E(ENOMSG, "No message of desired type"),
    E(EIDRM, "Identifier removed"),
    E(ECHRNG, "Channel number out of range"),
    E(EL2NSYNC, "Level 2 not synchronized"),
    E(EL3HLT, "Level 3 halted"),
    E(EL3RST, "Level 3 reset"),
    E(ELNRNG, "Link number out of range"),
    E(EUNATCH, "Protocol driver not attached"),
    E(ENOCSI, "No CSI structure available"),
    E(EL2HLT, "Level 2 halted"),
    E(EBADE, "Invalid exchange"),
    E(EBADR, "Invalid request descriptor"),
    E(EXFULL, "Exchange full"),
    E(ENOANO, "No anode"),
    E(EBADRQC, "Invalid request code"),
    E(EBADSLT, "Invalid slot"),
    E(EBFONT, "Bad font file format"),
    E(ENOSTR, "Device not a stream"),
    E(ENODATA, "No data available"),
    E(ETIME, "Timer expired"),
    E(ENOSR, "Out of streams resources"),
    E(ENONET, "Machine is not on the network"),
    E(ENOPKG, "Package not installed"),
    E(EREMOTE, "Object is remote"),
    E(ENOLINK, "Link has been severed"),
    E(EADV, "Advertise error"),
    E(ESRMNT, "Srmount error"),
    E(ECOMM, "Communication error on send"),
    E(EPROTO, "Protocol error"),
    E(EMULTIHOP, "Multihop attempted"),
    E(EDOTDOT, "RFS specific error"),
    E(EBADMSG, "Bad message"),
    E(EOVERFLOW, "Value too large for defined data type"),
    E(ENOTUNIQ, "Name not unique on network"),
    E(EBADFD, "File descriptor in bad state"),
    E(EREMCHG, "Remote address changed"),
    E(ELIBACC, "Can not access a needed shared library"),
    E(ELIBBAD, "Accessing a corrupted shared library"),
    E(ELIBSCN, ".lib section in a.out corrupted"),
    E(ELIBMAX, "Attempting to link in too many shared libraries"),
    E(ELIBEXEC, "Cannot exec a shared library directly"),
    E(EILSEQ, "Invalid or incomplete multibyte or wide character"),
    E(ERESTART, "Interrupted system call should be restarted"),
    E(ESTRPIPE, "Streams pipe error"),
    E(EUSERS, "Too many users"),
    E(ENOTSOCK, "Socket operation on non-socket"),
    E(EDESTADDRREQ, "Destination address required"),
    E(EMSGSIZE, "Message too long"),
    E(EPROTOTYPE, "Protocol wrong type for socket"),
    E(ENOPROTOOPT, "Protocol not available"),
    E(EPROTONOSUPPORT, "Protocol not supported"),
    E(ESOCKTNOSUPPORT, "Socket type not supported"),
    E(EOPNOTSUPP, "Operation not supported"),
    E(EPFNOSUPPORT, "Protocol family not supported"),
    E(EAFNOSUPPORT, "Address family not supported by protocol"),
    E(EADDRINUSE, "Address already in use"),
    E(EADDRNOTAVAIL, "Cannot assign requested address"),
    E(ENETDOWN, "Network is down"),
    E(ENETUNREACH, "Network is unreachable"),
    E(ENETRESET, "Network dropped connection on reset"),
    E(ECONNABORTED, "Software caused connection abort"),
    E(ECONNRESET, "Connection reset by peer"),
    E(ENOBUFS, "No buffer space available"),
    E(EISCONN, "Transport endpoint is already connected"),
    E(ENOTCONN, "Transport endpoint is not connected"),
    E(ESHUTDOWN, "Cannot send after transport endpoint shutdown"),
    E(ETOOMANYREFS, "Too many references: cannot splice"),
    E(ETIMEDOUT, "Connection timed out"),
    E(ECONNREFUSED, "Connection refused"),
    E(EHOSTDOWN, "Host is down"),
    E(EHOSTUNREACH, "No route to host"),
    E(EALREADY, "Operation already in progress"),
    E(EINPROGRESS, "Operation now in progress"),
    E(ESTALE, "Stale file handle"),
    E(EUCLEAN, "Structure needs cleaning"),
    E(ENOTNAM, "Not a XENIX named type file"),
    E(ENAVAIL, "No XENIX semaphores available"),
    E(EISNAM, "Is a named type file"),
    E(EREMOTEIO, "Remote I/O error"),
    E(EDQUOT, "Disk quota exceeded"),
    E(ENOMEDIUM, "No medium found"),
    E(EMEDIUMTYPE, "Wrong medium type"),
    E(ECANCELED, "Operation canceled"),
    E(ENOKEY, "Required key not available"),
    E(EKEYEXPIRED, "Key has expired"),
    E(EKEYREVOKED, "Key has been revoked"),
    E(EKEYREJECTED, "Key was rejected by service"),
    E(EOWNERDEAD, "Owner died"),
    E(ENOTRECOVERABLE, "State not recoverable"),
    E(ERFKILL, "Operation not possible due to RF-kill"),
    E(EHWPOISON, "Memory page has hardware error"),
};

// Kernel-internal restart codes; they leak into traces when a signal
// interrupts a call, so name them too.
constexpr ErrnoInfo kKernelErrnos[] = {
    E(ERESTARTSYS, "To be restarted if SA_RESTART is set"),
    E(ERESTARTNOINTR, "To be restarted"),
    E(ERESTARTNOHAND, "To be restarted if no handler"),
    E(ENOIOCTLCMD, "Inappropriate ioctl for device"),
    E(ERESTART_RESTARTBLOCK, "Interrupted by signal"),
};
#undef E

const ErrnoInfo* find_errno(int64_t err) {
    for (const ErrnoInfo& e : kErrnos)
        if (e.value == err) return &e;
    for (const ErrnoInfo& e : kKernelErrnos)
        if (e.value == err) return &e;
    return nullptr;
}

// ---- symbolic constants (values from the Linux x86-64 UAPI) ----

struct FlagName {
    uint64_t mask;  // may span several bits: printed only when all are set
    const char* name;
};

struct ValueName {
    int64_t value;
    const char* name;
};

// A table row from a uapi macro: its value and its name.
#define N(name) {name, #name}

// Open flags in the order strace prints them. Multi-bit names (O_SYNC
// includes O_DSYNC, O_TMPFILE includes O_DIRECTORY) come before the bits
// they contain so the combined name wins.
constexpr FlagName kOpenFlags[] = {
    N(O_CREAT),
    N(O_EXCL),
    N(O_NOCTTY),
    N(O_TRUNC),
    N(O_APPEND),
    N(O_NONBLOCK),
    N(O_SYNC),
    N(O_DSYNC),
    N(O_DIRECT),
    N(O_LARGEFILE),
    N(O_NOFOLLOW),
    N(O_NOATIME),
    N(O_CLOEXEC),
    N(O_PATH),
    N(O_TMPFILE),
    N(O_DIRECTORY),
    N(FASYNC),
};

constexpr FlagName kFdFlags[] = {N(FD_CLOEXEC)};

constexpr FlagName kProtFlags[] = {
    N(PROT_READ),        N(PROT_WRITE),         N(PROT_EXEC),
    N(PROT_SEM),         N(PROT_GROWSDOWN), N(PROT_GROWSUP),
};

constexpr ValueName kMapTypes[] = {
    N(MAP_SHARED), N(MAP_PRIVATE), N(MAP_SHARED_VALIDATE),
};
constexpr FlagName kMapFlags[] = {
    N(MAP_FIXED),         N(MAP_ANONYMOUS),   N(MAP_32BIT),
    N(MAP_GROWSDOWN),    N(MAP_DENYWRITE),  N(MAP_EXECUTABLE),
    N(MAP_LOCKED),      N(MAP_NORESERVE), N(MAP_POPULATE),
    N(MAP_NONBLOCK),   N(MAP_STACK),    N(MAP_HUGETLB),
    N(MAP_SYNC),       N(MAP_FIXED_NOREPLACE),
    N(MAP_UNINITIALIZED),
};

constexpr FlagName kMremapFlags[] = {
    N(MREMAP_MAYMOVE), N(MREMAP_FIXED), N(MREMAP_DONTUNMAP),
};

constexpr FlagName kAtFlags[] = {
    N(AT_SYMLINK_NOFOLLOW), N(AT_REMOVEDIR),       N(AT_SYMLINK_FOLLOW),
    N(AT_NO_AUTOMOUNT),     N(AT_EMPTY_PATH),     N(AT_STATX_FORCE_SYNC),
    N(AT_STATX_DONT_SYNC), N(AT_RECURSIVE),
};

// faccessat2 reuses 0x200 as AT_EACCESS.
constexpr FlagName kAccessAtFlags[] = {
    N(AT_SYMLINK_NOFOLLOW), N(AT_EACCESS), N(AT_EMPTY_PATH),
};

constexpr FlagName kAccessModes[] = {N(R_OK), N(W_OK), N(X_OK)};

constexpr FlagName kGetrandomFlags[] = {
    N(GRND_NONBLOCK), N(GRND_RANDOM), N(GRND_INSECURE),
};

constexpr FlagName kWaitOptions[] = {
    N(WNOHANG),          N(WSTOPPED),       N(WEXITED),     N(WCONTINUED),
    N(WNOWAIT),  N(__WNOTHREAD), N(__WALL),
    N(__WCLONE),
};

constexpr FlagName kCloneFlags[] = {
    N(CLONE_VM),
    N(CLONE_FS),
    N(CLONE_FILES),
    N(CLONE_SIGHAND),
    N(CLONE_PIDFD),
    N(CLONE_PTRACE),
    N(CLONE_VFORK),
    N(CLONE_PARENT),
    N(CLONE_THREAD),
    N(CLONE_NEWNS),
    N(CLONE_SYSVSEM),
    N(CLONE_SETTLS),
    N(CLONE_PARENT_SETTID),
    N(CLONE_CHILD_CLEARTID),
    N(CLONE_DETACHED),
    N(CLONE_UNTRACED),
    N(CLONE_CHILD_SETTID),
    N(CLONE_NEWCGROUP),
    N(CLONE_NEWUTS),
    N(CLONE_NEWIPC),
    N(CLONE_NEWUSER),
    N(CLONE_NEWPID),
    N(CLONE_NEWNET),
    N(CLONE_IO),
};

constexpr ValueName kSockTypes[] = {
    N(SOCK_STREAM), N(SOCK_DGRAM), N(SOCK_RAW),      N(SOCK_RDM),
    N(SOCK_SEQPACKET), N(SOCK_DCCP), N(SOCK_PACKET),
};
constexpr FlagName kSockTypeFlags[] = {N(SOCK_NONBLOCK), N(SOCK_CLOEXEC)};

constexpr ValueName kSockDomains[] = {
    N(AF_UNSPEC),   N(AF_UNIX),     N(AF_INET),   N(AF_INET6),
    N(AF_NETLINK), N(AF_PACKET),  N(AF_VSOCK),
};

constexpr ValueName kArchPrctlCodes[] = {
    N(ARCH_SET_GS),
    N(ARCH_SET_FS),
    N(ARCH_GET_FS),
    N(ARCH_GET_GS),
    N(ARCH_GET_CPUID),
    N(ARCH_SET_CPUID),
    N(ARCH_GET_XCOMP_SUPP),
    N(ARCH_GET_XCOMP_PERM),
    N(ARCH_REQ_XCOMP_PERM),
    N(ARCH_GET_XCOMP_GUEST_PERM),
    N(ARCH_REQ_XCOMP_GUEST_PERM),
    N(ARCH_MAP_VDSO_X32),
    N(ARCH_MAP_VDSO_32),
    N(ARCH_MAP_VDSO_64),
    N(ARCH_GET_UNTAG_MASK),
    N(ARCH_ENABLE_TAGGED_ADDR),
    N(ARCH_GET_MAX_TAG_BITS),
    N(ARCH_FORCE_TAGGED_SVA),
    N(ARCH_SHSTK_ENABLE),
    N(ARCH_SHSTK_DISABLE),
    N(ARCH_SHSTK_LOCK),
    N(ARCH_SHSTK_UNLOCK),
    N(ARCH_SHSTK_STATUS),
};

constexpr ValueName kClockIds[] = {
    N(CLOCK_REALTIME),        N(CLOCK_MONOTONIC),        N(CLOCK_PROCESS_CPUTIME_ID),
    N(CLOCK_THREAD_CPUTIME_ID), N(CLOCK_MONOTONIC_RAW),  N(CLOCK_REALTIME_COARSE),
    N(CLOCK_MONOTONIC_COARSE), N(CLOCK_BOOTTIME),        N(CLOCK_REALTIME_ALARM),
    N(CLOCK_BOOTTIME_ALARM),  N(CLOCK_SGI_CYCLE),       N(CLOCK_TAI),
};

constexpr ValueName kIoctlRequests[] = {
    N(TCGETS),     N(TCSETS),     N(TCSETSW),    N(TCSETSF),
    N(TCSBRK),     N(TCXONC),     N(TCFLSH),     N(TIOCSCTTY),
    N(TIOCGPGRP),  N(TIOCSPGRP),  N(TIOCGWINSZ), N(TIOCSWINSZ),
    N(FIONREAD),   N(FIONBIO),    N(TIOCNOTTY),  N(FIONCLEX),
    N(FIOCLEX),    N(FIOASYNC),   N(TIOCGPTN), N(TIOCSPTLCK),
};

constexpr ValueName kWhence[] = {
    N(SEEK_SET), N(SEEK_CUR), N(SEEK_END), N(SEEK_DATA), N(SEEK_HOLE),
};

constexpr ValueName kSigprocmaskHow[] = {N(SIG_BLOCK), N(SIG_UNBLOCK), N(SIG_SETMASK)};

constexpr ValueName kSignals[] = {
    N(SIGHUP),  N(SIGINT),  N(SIGQUIT),   N(SIGILL),  N(SIGTRAP),   N(SIGABRT), N(SIGBUS),  N(SIGFPE),
    N(SIGKILL), N(SIGUSR1), N(SIGSEGV),   N(SIGUSR2), N(SIGPIPE),   N(SIGALRM), N(SIGTERM), N(SIGSTKFLT),
    N(SIGCHLD), N(SIGCONT), N(SIGSTOP),   N(SIGTSTP), N(SIGTTIN),   N(SIGTTOU), N(SIGURG),  N(SIGXCPU),
    N(SIGXFSZ), N(SIGVTALRM), N(SIGPROF), N(SIGWINCH), N(SIGIO),    N(SIGPWR),  N(SIGSYS),
};

constexpr ValueName kRlimitResources[] = {
    N(RLIMIT_CPU),     N(RLIMIT_FSIZE),   N(RLIMIT_DATA),       N(RLIMIT_STACK),
    N(RLIMIT_CORE),    N(RLIMIT_RSS),     N(RLIMIT_NPROC),      N(RLIMIT_NOFILE),
    N(RLIMIT_MEMLOCK), N(RLIMIT_AS),      N(RLIMIT_LOCKS),     N(RLIMIT_SIGPENDING),
    N(RLIMIT_MSGQUEUE), N(RLIMIT_NICE), N(RLIMIT_RTPRIO),    N(RLIMIT_RTTIME),
};

constexpr ValueName kMadviseAdvice[] = {
    N(MADV_NORMAL),          N(MADV_RANDOM),         N(MADV_SEQUENTIAL),
    N(MADV_WILLNEED),        N(MADV_DONTNEED),       N(MADV_FREE),
    N(MADV_REMOVE),          N(MADV_DONTFORK),      N(MADV_DOFORK),
    N(MADV_MERGEABLE),      N(MADV_UNMERGEABLE),   N(MADV_HUGEPAGE),
    N(MADV_NOHUGEPAGE),     N(MADV_DONTDUMP),      N(MADV_DODUMP),
    N(MADV_WIPEONFORK),     N(MADV_KEEPONFORK),    N(MADV_COLD),
    N(MADV_PAGEOUT),        N(MADV_POPULATE_READ), N(MADV_POPULATE_WRITE),
    N(MADV_DONTNEED_LOCKED), N(MADV_COLLAPSE),     N(MADV_HWPOISON),
    N(MADV_SOFT_OFFLINE),
};

// fcntl and futex commands; `rest` is the argument spec for what follows
// the command (for futex: val, timeout/val2, uaddr2 and val3 as far as that
// command uses them).
struct Command {
    int64_t value;
    const char* name;
    const char* rest;
};
#define CMD(name, rest) {name, #name, rest}
constexpr Command kFcntlCmds[] = {
    CMD(F_DUPFD, "f"),      CMD(F_GETFD, ""),          CMD(F_SETFD, "K"),       CMD(F_GETFL, ""),
    CMD(F_SETFL, "o"),      CMD(F_GETLK, "P"),         CMD(F_SETLK, "P"),       CMD(F_SETLKW, "P"),
    CMD(F_SETOWN, "i"),     CMD(F_GETOWN, ""),         CMD(F_SETSIG, "S"),      CMD(F_GETSIG, ""),
    CMD(F_SETOWN_EX, "P"),  CMD(F_GETOWN_EX, "P"),     CMD(F_OFD_GETLK, "P"),   CMD(F_OFD_SETLK, "P"),
    CMD(F_OFD_SETLKW, "P"), CMD(F_SETLEASE, "i"),      CMD(F_GETLEASE, ""),     CMD(F_NOTIFY, "x"),
    CMD(F_DUPFD_CLOEXEC, "f"), CMD(F_SETPIPE_SZ, "i"), CMD(F_GETPIPE_SZ, ""),   CMD(F_ADD_SEALS, "x"),
    CMD(F_GET_SEALS, ""),
};
constexpr Command kFutexCmds[] = {
    CMD(FUTEX_WAIT, "it"),
    CMD(FUTEX_WAKE, "i"),
    CMD(FUTEX_FD, "i"),
    CMD(FUTEX_REQUEUE, "iiP"),
    CMD(FUTEX_CMP_REQUEUE, "iiPi"),
    CMD(FUTEX_WAKE_OP, "iiPx"),
    CMD(FUTEX_LOCK_PI, "-t"),
    CMD(FUTEX_UNLOCK_PI, ""),
    CMD(FUTEX_TRYLOCK_PI, ""),
    CMD(FUTEX_WAIT_BITSET, "itPx"),
    CMD(FUTEX_WAKE_BITSET, "iPPx"),
    CMD(FUTEX_WAIT_REQUEUE_PI, "itP"),
    CMD(FUTEX_CMP_REQUEUE_PI, "iiPi"),
    CMD(FUTEX_LOCK_PI2, "-t"),
};
#undef CMD
#undef N
// The futex command: the bits below the first flag bit.
constexpr uint64_t kFutexCmdBits = FUTEX_PRIVATE_FLAG - 1;

template <size_t Size>
const Command* find_command(const Command (&table)[Size], int64_t value) {
    for (const Command& e : table)
        if (e.value == value) return &e;
    return nullptr;
}

// How much of user memory a single trace line may show.
constexpr size_t kBufferShown = 32;   // read/write payloads, like strace -s 32
constexpr size_t kStringShown = 32;   // non-path strings
constexpr size_t kPathShown = 4096;   // PATH_MAX: paths are shown whole
constexpr size_t kArgvShown = 32;     // argv entries before "..."
constexpr size_t kEnvpCounted = 4096; // envp entries counted before giving up
constexpr uint64_t kPageSize = 4096;

// Syscall int arguments live in the low 32 bits; the upper half is junk.
constexpr int64_t as_int(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

template <size_t N>
const char* lookup(const ValueName (&table)[N], int64_t v) {
    for (const ValueName& e : table)
        if (e.value == v) return e.name;
    return nullptr;
}

// Bits as NAME|NAME|0x..., with unnamed leftovers in hex. `any` says whether
// something was already printed in this field (so a '|' is needed).
template <size_t N>
bool put_flag_bits(TextBuffer& tb, uint64_t& v, const FlagName (&table)[N], bool any) {
    for (const FlagName& e : table) {
        if ((v & e.mask) == e.mask) {
            if (any) tb.ch('|');
            tb.str(e.name);
            v &= ~e.mask;
            any = true;
        }
    }
    return any;
}

void finish_flags(TextBuffer& tb, uint64_t rest, bool any) {
    if (rest != 0) {
        if (any) tb.ch('|');
        tb.hex(rest);
    } else if (!any) {
        tb.ch('0');
    }
}

template <size_t N>
void put_flags(TextBuffer& tb, uint64_t v, const FlagName (&table)[N]) {
    const bool any = put_flag_bits(tb, v, table, false);
    finish_flags(tb, v, any);
}

// strace prints "0" rather than "0x0" for zero hex arguments.
void put_hex_arg(TextBuffer& tb, uint64_t v) {
    if (v == 0) {
        tb.ch('0');
    } else {
        tb.hex(v);
    }
}

void put_open_flags(TextBuffer& tb, uint64_t v, bool with_access_mode) {
    bool any = false;
    if (with_access_mode) {
        static_assert(O_RDONLY == 0 && O_WRONLY == 1 && O_RDWR == 2 && O_ACCMODE == 3);
        static constexpr const char* kAccess[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
        tb.str(kAccess[v & O_ACCMODE]);
        v &= ~uint64_t{O_ACCMODE};
        any = true;
    }
    any = put_flag_bits(tb, v, kOpenFlags, any);
    finish_flags(tb, v, any);
}

void put_signal(TextBuffer& tb, int64_t sig) {
    if (const char* name = lookup(kSignals, sig)) {
        tb.str(name);
    } else if (sig == SIGRTMIN) {
        tb.str("SIGRTMIN");
    } else if (sig > SIGRTMIN && sig <= LVM_NSIG) {
        tb.str("SIGRT_").dec(sig - SIGRTMIN);
    } else {
        tb.dec(sig);
    }
}

void put_mmap_flags(TextBuffer& tb, uint64_t v) {
    bool any = false;
    if (const char* type = lookup(kMapTypes, static_cast<int64_t>(v & MAP_TYPE))) {
        tb.str(type);
        v &= ~uint64_t{MAP_TYPE};
        any = true;
    }
    // With MAP_HUGETLB the top bits encode log2 of the page size, not flags.
    uint64_t huge_log2 = 0;
    if (v & MAP_HUGETLB) {
        huge_log2 = (v >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
        v &= ~(uint64_t{MAP_HUGE_MASK} << MAP_HUGE_SHIFT);
    }
    any = put_flag_bits(tb, v, kMapFlags, any);
    if (huge_log2 != 0) {
        if (any) tb.ch('|');
        tb.udec(huge_log2).str("<<MAP_HUGE_SHIFT");
        any = true;
    }
    finish_flags(tb, v, any);
}

void put_futex_op_name(TextBuffer& tb, uint64_t op) {
    const Command* cmd = find_command(kFutexCmds, static_cast<int64_t>(op & kFutexCmdBits));
    if (!cmd || (op & ~(kFutexCmdBits | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) != 0) {
        tb.hex(op);
        return;
    }
    tb.str(cmd->name);
    if (op & FUTEX_PRIVATE_FLAG) tb.str("_PRIVATE");
    if (op & FUTEX_CLOCK_REALTIME) tb.str("|FUTEX_CLOCK_REALTIME");
}

// Renders the argument list of one call.
class ArgFormatter {
public:
    ArgFormatter(TextBuffer& tb, const SyscallRecord& rec, ReadableFn readable, void* ctx, bool has_result)
        : tb_(tb), rec_(rec), readable_(readable), ctx_(ctx), has_result_(has_result) {}

    void run(const char* spec, int index) {
        for (; *spec != '\0' && index < 6 && !tb_.truncated(); ++spec, ++index) {
            const char kind = *spec;
            const uint64_t v = rec_.args[index];
            switch (kind) {
                case '-':
                    break;
                case 'n':  // mode only matters when the call may create a file
                    if (index > 0 && (rec_.args[index - 1] & (O_CREAT | __O_TMPFILE)) != 0) {
                        separator();
                        tb_.oct(v & 07777);
                    }
                    break;
                case 'F': {
                    separator();
                    const Command* cmd = find_command(kFcntlCmds, as_int(v));
                    if (!cmd) {
                        tb_.dec(as_int(v));
                        run("x", index + 1);
                    } else {
                        tb_.str(cmd->name);
                        run(cmd->rest, index + 1);
                    }
                    return;
                }
                case 'U': {
                    separator();
                    put_futex_op_name(tb_, v);
                    const Command* cmd = find_command(kFutexCmds, static_cast<int64_t>(v & kFutexCmdBits));
                    run(cmd ? cmd->rest : "xxxx", index + 1);
                    return;
                }
                default:
                    separator();
                    arg(kind, index);
                    break;
            }
        }
    }

    // Unknown syscall: every register in hex.
    void raw() {
        for (int i = 0; i < 6; ++i) {
            separator();
            put_hex_arg(tb_, rec_.args[i]);
        }
    }

private:
    void separator() {
        if (printed_++ > 0) tb_.str(", ");
    }

    bool can_read(uint64_t addr, uint64_t len) const {
        if (!readable_ || addr == 0) return false;
        if (addr + len < addr) return false;  // wraps around the address space
        return readable_(addr, len, ctx_);
    }

    static const uint8_t* at(uint64_t addr) {
        return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(addr));
    }

    // Byte-wise loads: guest pointers carry no alignment guarantee.
    bool read_u64(uint64_t addr, uint64_t* out) const {
        if (!can_read(addr, 8)) return false;
        const uint8_t* p = at(addr);
        uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
        *out = v;
        return true;
    }

    // Measures the NUL-terminated string at addr, looking at no more than
    // `limit` bytes. Readability is asked once per page; when the checker
    // refuses a whole page, a binary search finds how much of it is readable
    // (a string may end just before an unmapped or foreign region). Fails if
    // an unreadable byte comes before the terminator.
    bool measure_string(uint64_t addr, size_t limit, size_t* len) const {
        size_t n = 0;
        while (n < limit) {
            const uint64_t a = addr + n;
            if (a < addr) return false;
            const uint64_t to_page_end = kPageSize - (a & (kPageSize - 1));
            const size_t chunk = to_page_end < limit - n ? static_cast<size_t>(to_page_end) : limit - n;
            size_t readable = chunk;
            if (!can_read(a, chunk)) {
                size_t lo = 0;  // invariant: first lo bytes readable, first hi bytes not
                size_t hi = chunk;
                while (hi - lo > 1) {
                    const size_t mid = lo + (hi - lo) / 2;
                    if (can_read(a, mid)) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                readable = lo;
            }
            const uint8_t* p = at(a);
            for (size_t k = 0; k < readable; ++k) {
                if (p[k] == 0) {
                    *len = n + k;
                    return true;
                }
            }
            if (readable < chunk) return false;
            n += chunk;
        }
        *len = limit;
        return true;
    }

    void pointer(uint64_t v) {
        if (v == 0) {
            tb_.str("NULL");
        } else {
            tb_.hex(v);
        }
    }

    // C string shown up to max_shown bytes, "..." when longer.
    void string(uint64_t addr, size_t max_shown) {
        size_t len = 0;
        if (!can_read(addr, 1) || !measure_string(addr, max_shown + 1, &len)) {
            pointer(addr);
            return;
        }
        tb_.quoted(at(addr), len, max_shown);
    }

    // Buffer of known length.
    void buffer(uint64_t addr, uint64_t len) {
        const uint64_t shown = len < kBufferShown ? len : kBufferShown;
        if (addr == 0) {
            tb_.str("NULL");
        } else if (len == 0) {
            tb_.str("\"\"");  // nothing to read, so nothing can fault
        } else if (!can_read(addr, shown)) {
            tb_.hex(addr);
        } else {
            tb_.quoted(at(addr), static_cast<size_t>(len), kBufferShown);
        }
    }

    bool succeeded() const { return has_result_ && rec_.result >= 0; }

    void timespec(uint64_t addr) {
        uint64_t sec = 0;
        uint64_t nsec = 0;
        if (!read_u64(addr, &sec) || !read_u64(addr + 8, &nsec)) {
            pointer(addr);
            return;
        }
        tb_.str("{tv_sec=").dec(static_cast<int64_t>(sec));
        tb_.str(", tv_nsec=").dec(static_cast<int64_t>(nsec)).ch('}');
    }

    void int_pair(uint64_t addr) {
        if (!can_read(addr, 8)) {
            pointer(addr);
            return;
        }
        const uint8_t* p = at(addr);
        uint32_t v[2];
        for (int i = 0; i < 2; ++i)
            v[i] = static_cast<uint32_t>(p[4 * i]) | static_cast<uint32_t>(p[4 * i + 1]) << 8 |
                   static_cast<uint32_t>(p[4 * i + 2]) << 16 | static_cast<uint32_t>(p[4 * i + 3]) << 24;
        tb_.ch('[').dec(as_int(v[0])).str(", ").dec(as_int(v[1])).ch(']');
    }

    void argv(uint64_t addr) {
        uint64_t elem = 0;
        if (!read_u64(addr, &elem)) {
            pointer(addr);
            return;
        }
        tb_.ch('[');
        for (size_t i = 0; !tb_.truncated(); ++i) {
            if (!read_u64(addr + 8 * i, &elem)) {
                tb_.str(i ? ", ..." : "...");  // array runs into unreadable memory
                break;
            }
            if (elem == 0) break;
            if (i == kArgvShown) {
                tb_.str(", ...");
                break;
            }
            if (i) tb_.str(", ");
            string(elem, kStringShown);
        }
        tb_.ch(']');
    }

    // strace style: the pointer plus a count, since environments are long.
    void envp(uint64_t addr) {
        pointer(addr);
        for (size_t count = 0; count < kEnvpCounted; ++count) {
            uint64_t elem = 0;
            if (!read_u64(addr + 8 * count, &elem)) return;  // no terminator we can see: no count
            if (elem == 0) {
                tb_.str(" /* ").udec(count).str(count == 1 ? " var */" : " vars */");
                return;
            }
        }
    }

    void arg(char kind, int index) {
        const uint64_t v = rec_.args[index];
        const uint64_t next = index < 5 ? rec_.args[index + 1] : 0;
        switch (kind) {
            case 'f':
                if (as_int(v) == AT_FDCWD) {
                    tb_.str("AT_FDCWD");
                } else {
                    tb_.dec(as_int(v));
                }
                break;
            case 'p': string(v, kPathShown); break;
            case 's': string(v, kStringShown); break;
            case 'b': buffer(v, next); break;
            case 'B':
                if (succeeded()) {
                    const uint64_t got = static_cast<uint64_t>(rec_.result);
                    buffer(v, got < next ? got : next);
                } else {
                    pointer(v);
                }
                break;
            case 'c':
                if (succeeded() && rec_.result > 0) {
                    string(v, kPathShown);
                } else {
                    pointer(v);
                }
                break;
            case 'Y':
                if (has_result_ && rec_.result == 0) {
                    int_pair(v);
                } else {
                    pointer(v);
                }
                break;
            case 't': timespec(v); break;
            case 'q':
                if (has_result_ && rec_.result == 0) {
                    timespec(v);
                } else {
                    pointer(v);
                }
                break;
            case 'V': argv(v); break;
            case 'N': envp(v); break;
            case 'P': pointer(v); break;
            case 'u': tb_.udec(v); break;
            case 'i': tb_.dec(as_int(v)); break;
            case 'l': tb_.dec(static_cast<int64_t>(v)); break;
            case 'm': tb_.oct(v & 0xffffffff); break;
            case 'o': put_open_flags(tb_, v & 0xffffffff, true); break;
            case 'O': put_open_flags(tb_, v & 0xffffffff, false); break;
            case 'K': put_flags(tb_, v, kFdFlags); break;
            case 'r':
                if (v == 0) {
                    tb_.str("PROT_NONE");
                } else {
                    put_flags(tb_, v, kProtFlags);
                }
                break;
            case 'M': put_mmap_flags(tb_, v); break;
            case 'e': put_flags(tb_, v, kMremapFlags); break;
            case 'A': put_flags(tb_, v & 0xffffffff, kAtFlags); break;
            case 'E': put_flags(tb_, v & 0xffffffff, kAccessAtFlags); break;
            case 'X':
                if ((v & 0xffffffff) == 0) {
                    tb_.str("F_OK");
                } else {
                    put_flags(tb_, v & 0xffffffff, kAccessModes);
                }
                break;
            case 'g': put_flags(tb_, v & 0xffffffff, kGetrandomFlags); break;
            case 'W': put_flags(tb_, v & 0xffffffff, kWaitOptions); break;
            case 'C': {
                uint64_t rest = v;
                const uint64_t sig = rest & CSIGNAL;
                rest &= ~uint64_t{CSIGNAL};
                bool any = put_flag_bits(tb_, rest, kCloneFlags, false);
                if (sig != 0) {
                    if (any) tb_.ch('|');
                    put_signal(tb_, static_cast<int64_t>(sig));
                    any = true;
                }
                finish_flags(tb_, rest, any);
                break;
            }
            case 'T': {
                uint64_t rest = v & 0xffffffff;
                bool any = false;
                if (const char* type = lookup(kSockTypes, static_cast<int64_t>(rest & SOCK_TYPE_MASK))) {
                    tb_.str(type);
                    rest &= ~uint64_t{SOCK_TYPE_MASK};
                    any = true;
                }
                any = put_flag_bits(tb_, rest, kSockTypeFlags, any);
                finish_flags(tb_, rest, any);
                break;
            }
            case 'a': named(kArchPrctlCodes, static_cast<int64_t>(v), true); break;
            case 'k': named(kClockIds, as_int(v), false); break;
            case 'I': named(kIoctlRequests, static_cast<int64_t>(v & 0xffffffff), true); break;
            case 'w': named(kWhence, as_int(v), false); break;
            case 'h': named(kSigprocmaskHow, as_int(v), false); break;
            case 'R': named(kRlimitResources, as_int(v), false); break;
            case 'v': named(kMadviseAdvice, as_int(v), false); break;
            case 'D': named(kSockDomains, as_int(v), false); break;
            case 'S': put_signal(tb_, as_int(v)); break;
            case 'x':
            default: put_hex_arg(tb_, v); break;
        }
    }

    template <size_t N>
    void named(const ValueName (&table)[N], int64_t v, bool hex_fallback) {
        if (const char* name = lookup(table, v)) {
            tb_.str(name);
        } else if (hex_fallback) {
            put_hex_arg(tb_, static_cast<uint64_t>(v));
        } else {
            tb_.dec(v);
        }
    }

    TextBuffer& tb_;
    const SyscallRecord& rec_;
    ReadableFn readable_;
    void* ctx_;
    bool has_result_;
    int printed_ = 0;
};

void put_result(TextBuffer& tb, const SyscallRecord& rec, char kind) {
    const int64_t r = rec.result;
    if (r < 0 && r >= -LVM_MAX_ERRNO) {
        tb.str("-1 ");
        if (const ErrnoInfo* e = find_errno(-r)) {
            tb.str(e->name).str(" (").str(e->text).ch(')');
        } else {
            tb.str("ERRNO_").dec(-r).str(" (Unknown error ").dec(-r).ch(')');
        }
        return;
    }
    switch (kind) {
        case 'x': put_hex_arg(tb, static_cast<uint64_t>(r)); break;
        case 'm': tb.oct(static_cast<uint64_t>(r)); break;
        case 'F': {
            const int64_t cmd = as_int(rec.args[1]);
            if (cmd == F_GETFD && r != 0) {
                tb.hex(static_cast<uint64_t>(r)).str(" (flags ");
                put_flags(tb, static_cast<uint64_t>(r), kFdFlags);
                tb.ch(')');
            } else if (cmd == F_GETFL) {
                put_hex_arg(tb, static_cast<uint64_t>(r));
                tb.str(" (flags ");
                put_open_flags(tb, static_cast<uint64_t>(r), true);
                tb.ch(')');
            } else {
                tb.dec(r);
            }
            break;
        }
        default: tb.dec(r); break;
    }
}

size_t format_call(char* out, size_t cap, const SyscallRecord& rec, ReadableFn readable, void* ctx,
                   bool has_result) {
    if (cap == 0 || out == nullptr) return 0;
    if (cap == 1) {  // room for the terminator only
        out[0] = '\0';
        return 0;
    }
    // Keep one byte back so the line can always end in '\n', even when the
    // middle was cut short.
    TextBuffer tb(out, cap - 1);
    const SyscallDesc* info = syscall_desc(rec.nr);
    ArgFormatter args(tb, rec, readable, ctx, has_result);
    if (info) {
        tb.str(info->name).ch('(');
        args.run(info->args, 0);
    } else {
        tb.str("syscall_").udec(rec.nr).ch('(');
        args.raw();
    }
    tb.str(") = ");
    if (!has_result || (info && info->result == '?')) {
        tb.ch('?');
    } else {
        put_result(tb, rec, info ? info->result : 'd');
    }
    size_t len = tb.size();
    out[len++] = '\n';
    out[len] = '\0';
    return len;
}

}  // namespace

bool syscall_format_ok(const char* args, char result) {
    auto known = [](const char* set, char c) {
        for (; *set; ++set)
            if (*set == c) return true;
        return false;
    };
    size_t n = 0;
    for (; args[n]; ++n)
        if (n == 6 || !known(kArgLetters, args[n])) return false;
    return result != 0 && known(kResultKinds, result);
}

const char* syscall_name(uint64_t nr) {
    const SyscallDesc* info = syscall_desc(nr);
    return info ? info->name : nullptr;
}

const char* errno_name(int64_t err) {
    const ErrnoInfo* e = find_errno(err);
    return e ? e->name : nullptr;
}

const char* errno_text(int64_t err) {
    const ErrnoInfo* e = find_errno(err);
    return e ? e->text : nullptr;
}

size_t format_syscall(char* out, size_t cap, const SyscallRecord& rec, ReadableFn readable, void* ctx) {
    return format_call(out, cap, rec, readable, ctx, true);
}

size_t format_syscall_entry(char* out, size_t cap, const SyscallRecord& rec, ReadableFn readable, void* ctx) {
    return format_call(out, cap, rec, readable, ctx, false);
}

}  // namespace lightvm::guest
