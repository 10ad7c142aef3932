// Linux errno values (asm-generic/errno-base.h, errno.h): ABI facts.
#pragma once

namespace lightvm::guest::err {
inline constexpr long kPerm = 1, kNoEnt = 2, kSrch = 3, kIntr = 4, kIo = 5, kBadF = 9, kChild = 10,
                      kAgain = 11, kNoMem = 12, kAcces = 13, kFault = 14, kExist = 17, kNoDev = 19,
                      kNotDir = 20, kIsDir = 21, kInval = 22, kNotTy = 25, kSPipe = 29, kPipe = 32,
                      kRange = 34, kNoSys = 38, kNameTooLong = 36, kOpNotSupp = 95;
}
