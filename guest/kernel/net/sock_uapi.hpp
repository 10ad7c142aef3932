// Linux socket ABI facts the uapi headers give (sockaddr_in/in6/un,
// SOL_SOCKET and SO_*, IPPROTO_*, TCP_*) and the ones only the kernel's
// internal include/linux/socket.h has (MSG_*, SHUT_*, SCM_RIGHTS, struct
// msghdr/cmsghdr/mmsghdr as user space lays them out).
#pragma once

#include <stdint.h>

#include <asm/socket.h>   // SOL_SOCKET, SO_*
#include <linux/in.h>     // sockaddr_in, IPPROTO_*
#include <linux/in6.h>    // sockaddr_in6, IPV6_V6ONLY
#include <linux/tcp.h>    // TCP_NODELAY, ...
#include <linux/un.h>     // sockaddr_un

namespace lightvm::guest {

inline constexpr int MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_DONTROUTE = 0x4, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40,
                     MSG_EOR = 0x80, MSG_WAITALL = 0x100, MSG_NOSIGNAL = 0x4000, MSG_MORE = 0x8000,
                     MSG_WAITFORONE = 0x10000, MSG_CMSG_CLOEXEC = 0x40000000, MSG_CTRUNC = 0x8;
inline constexpr int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
inline constexpr int SCM_RIGHTS = 1;
inline constexpr int SOL_IPV6_LEVEL = 41, SOL_TCP_LEVEL = 6, SOL_IP_LEVEL = 0;

struct UserMsghdr {
    uint64_t name;
    uint32_t namelen;
    uint32_t pad0;
    uint64_t iov;
    uint64_t iovlen;
    uint64_t control;
    uint64_t controllen;
    int32_t flags;
    uint32_t pad1;
};
static_assert(sizeof(UserMsghdr) == 56);

struct UserMmsghdr {
    UserMsghdr hdr;
    uint32_t len;
    uint32_t pad;
};
static_assert(sizeof(UserMmsghdr) == 64);

struct Cmsghdr {
    uint64_t len;
    int32_t level;
    int32_t type;
};
static_assert(sizeof(Cmsghdr) == 16);

// Boolean options a Local socket remembers (Socket::opts).
inline constexpr uint32_t kOptReuseAddr = 1u << 0, kOptReusePort = 1u << 1, kOptKeepAlive = 1u << 2,
                          kOptNoDelay = 1u << 3, kOptV6Only = 1u << 4, kOptBroadcast = 1u << 5,
                          kOptPassCred = 1u << 6;
inline constexpr uint32_t kOptInherited = kOptKeepAlive | kOptNoDelay;

// return -errno from a helper at once.
#define TRY_ERRNO(expr)            \
    do {                           \
        long try_errno_ = (expr);  \
        if (try_errno_ < 0)        \
            return try_errno_;     \
    } while (0)

}  // namespace lightvm::guest
