// File identity for what the kernel makes up itself: every file and
// directory a program can see has a stable (st_dev, st_ino) that no other
// file shares, so `test -ef`, `find -xdev`, `du` (hard-link dedup) and a
// getcwd that walks `..` comparing identities (zsh without PWD, old libcs)
// work as on Linux. Files in shares keep the host's identity (the monitor
// passes the host's stat through); everything else lives on one of the
// kernel's own file systems below.
#pragma once

#include <stdint.h>

namespace lightvm::guest::ident {

// Linux's new_encode_dev: what x86-64 stat reports in st_dev/st_rdev.
constexpr uint64_t encode_dev(uint32_t major, uint32_t minor) {
    return (minor & 0xffu) | (uint64_t{major & 0xfffu} << 8) | (uint64_t{minor & ~0xffu} << 12);
}

// The kernel's file systems have major 0, like Linux's virtual file systems
// (procfs, tmpfs, pipefs). Their minors come from the top of the 20-bit
// range: Linux hands out anonymous device numbers lowest-free-first from 1,
// so a share on a host tmpfs or overlay (0:N with small N) never has the
// st_dev of a kernel file system, and (dev, ino) stays unique across both.
constexpr uint32_t kMinorBase = (1u << 20) - 64;
enum : uint64_t {
    kDevRoot = encode_dev(0, kMinorBase + 0),     // "/" and directories on the way to mount points
    kDevDev = encode_dev(0, kMinorBase + 1),      // /dev and its device nodes (devtmpfs)
    kDevProc = encode_dev(0, kMinorBase + 2),     // /proc
    kDevPipe = encode_dev(0, kMinorBase + 3),     // pipes and FIFOs' open ends (pipefs)
    kDevConsole = encode_dev(0, kMinorBase + 4),  // the VM's stdin/stdout/stderr
    kDevSocket = encode_dev(0, kMinorBase + 5),   // sockets (sockfs)
    kDevAnon = encode_dev(0, kMinorBase + 6),     // eventfd, timerfd, epoll (anon_inodefs: one inode)
    kDevPts = encode_dev(0, kMinorBase + 7),      // /dev/pts (devpts): its root 1, ptmx 2, pts N N+3
};
inline constexpr uint64_t kInoAnon = 1;
// tmpfs instance i (later): encode_dev(0, kMinorBase + 16 + i).

// Inode numbers inside kDevDev.
enum : uint64_t {
    kInoDevDir = 1,
    kInoDevFdDir = 2,
    kInoDevNull = 3,
    kInoDevZero = 4,
    kInoDevFull = 5,
    kInoDevRandom = 6,
    kInoDevURandom = 7,
    kInoDevTty = 8,
    kInoDevPtmx = 9,
    kInoDevPtsDir = 10,  // /dev/pts as an entry of /dev (its own root is kDevPts 1)
    kInoDevConsole = 11,  // /dev/console, also what a terminal stdio stream is (dev/console_files.cpp)
    kInoDevBlockBase = 16,  // + block device index
};

// Minors of /dev/random and /dev/urandom (major 1, Linux's memory devices):
// both are FileKind::DevRandom, told apart by OpenFile::device.
constexpr uint32_t kRandomMinor = 8, kURandomMinor = 9;

// Inode numbers inside kDevProc.
enum : uint64_t {
    kInoProcDir = 1,
    kInoProcSelf = 2,  // the link /proc/self
    kInoProcMounts = 4,
    kInoProcThreadSelf = 7,
    kInoProcTextBase = 16,  // + ProcFile (fs/proc_files.hpp): cpuinfo, meminfo, self/auxv, /sys cpu files
};
// /proc/PID and everything below it: (pid << 32) | ..., above every number
// here (fs/proc_pid.cpp, proc_pid_ino).

}  // namespace lightvm::guest::ident
