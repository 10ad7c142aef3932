// The live-migration wire format (docs/migration.md): frames of a fixed
// 24-byte header and a payload, over one TCP connection from the source
// lightvmd (and its VM's monitor) to the target lightvmd. Pure: the checks
// a receiver makes on every header are here and unit-tested; the I/O
// helpers work on any blocking stream socket whose timeouts the daemon set.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lightvm::migration {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr char kMagic[] = "lightvm-migrate";

enum class Frame : uint32_t {
    Hello = 1,    // source -> target, JSON: who is coming (docs/migration.md)
    Accept = 2,   // target -> source, JSON: {"id"}
    Pages = 3,    // source -> target: a = gpa, payload = guest RAM at gpa
    Zero = 4,     // source -> target: a = gpa, len bytes that are now zero
    State = 5,    // source -> target: the snapshot state file (format.hpp)
    End = 6,      // source -> target: memory and state complete
    Ready = 7,    // target -> source, JSON: restored, held before its first instruction
    Go = 8,       // source -> target: run it (the commit point)
    Started = 9,  // target -> source, JSON: running there
    Error = 10,   // either way, text: why the peer gives up
};

struct Header {
    uint32_t type = 0;
    uint32_t flags = 0;  // 0; a later version may use it
    uint64_t a = 0;      // gpa for Pages and Zero
    uint64_t len = 0;    // payload bytes (Zero: bytes of guest RAM, no payload)
};
static_assert(sizeof(Header) == 24);

inline constexpr uint64_t kMaxJson = 64 << 10;
inline constexpr uint64_t kMaxPagesFrame = 1 << 20;  // a sender splits longer runs
inline constexpr uint64_t kMaxState = 16ull << 20;   // snapshot::kMaxStateSize

// Everything a receiver checks before it reads a payload: a known type,
// flags 0, a payload size the type allows, and for Pages/Zero a
// page-aligned range inside guest RAM of mem_size bytes (0: not known yet,
// only Hello may come). One line naming the problem.
Result<void> check_header(const Header& h, uint64_t mem_size);
const char* frame_name(uint32_t type);

// Blocking I/O on a stream socket. A timeout (SO_RCVTIMEO/SO_SNDTIMEO, set
// by whoever made the socket) or a closed peer is an error naming `what`.
Result<void> send_frame(int fd, Frame type, uint64_t a, std::span<const uint8_t> payload);
Result<void> send_frame(int fd, Frame type, const std::string& text);
Result<void> send_zero(int fd, uint64_t gpa, uint64_t len);
Result<Header> recv_header(int fd, uint64_t mem_size);
Result<void> recv_exact(int fd, void* buf, uint64_t n);
// A JSON or text payload (Hello, Accept, Ready, Started, Error).
Result<std::string> recv_text(int fd, const Header& h);
// Reads the next frame and requires `want`; an Error frame from the peer
// becomes an error carrying its text.
Result<std::string> expect_text(int fd, Frame want, uint64_t mem_size);

}  // namespace lightvm::migration
