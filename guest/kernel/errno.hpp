// Short names for the errno values the kernel returns, defined from the
// uapi values: no number is typed here. New code may use the E* names
// directly. Only the errno header (also what libc's <errno.h> includes), so
// hosted tests can include this next to the C library; kernel/uapi.hpp has
// the rest.
#pragma once

#include <asm-generic/errno.h>

// Kernel-internal restart codes (include/linux/errno.h, not uapi): a call a
// signal interrupted returns one; the syscall exit turns it into EINTR or a
// restart (proc/signal.cpp), so programs never see them (traces do).
#ifndef ERESTARTSYS
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ENOIOCTLCMD 515
#define ERESTART_RESTARTBLOCK 516
#endif

namespace lightvm::guest::err {
inline constexpr long kPerm = EPERM, kNoEnt = ENOENT, kSrch = ESRCH, kIntr = EINTR, kIo = EIO, kNxio = ENXIO,
                      kBadF = EBADF, kChild = ECHILD, kAgain = EAGAIN, kNoMem = ENOMEM, kAcces = EACCES,
                      kFault = EFAULT, kBusy = EBUSY, kExist = EEXIST, kXDev = EXDEV, kNoDev = ENODEV,
                      kNotDir = ENOTDIR, kIsDir = EISDIR, kInval = EINVAL, kNFile = ENFILE, kMFile = EMFILE,
                      kNotTy = ENOTTY, kNoSpc = ENOSPC, kSPipe = ESPIPE, kRoFs = EROFS, kPipe = EPIPE,
                      kRange = ERANGE, kNameTooLong = ENAMETOOLONG, kNoSys = ENOSYS, kNotEmpty = ENOTEMPTY,
                      kLoop = ELOOP, kFBig = EFBIG, kOpNotSupp = EOPNOTSUPP, kTimedOut = ETIMEDOUT, kOverflow = EOVERFLOW;
inline constexpr long k2Big = E2BIG, kNoExec = ENOEXEC, kLibBad = ELIBBAD, kTxtBsy = ETXTBSY;
inline constexpr long kNoData = ENODATA;
}
