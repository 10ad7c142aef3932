// What one VM run needs to know: built by the CLI (or later the daemon),
// consumed by run_vm. Plain data.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "lightvm/abi.h"

namespace lightvm {

// Who the guest sees owning a share's files (docs/compat.md, "Users and
// permissions"):
//   Passthrough: the host's owners and modes; chown and the owners of new
//     files go to the host (a root monitor keeps CAP_CHOWN for --user);
//   Mapped: the guest's owner, group and mode of each file live in its
//     user.lightvm.owner attribute; the host's owners never change.
enum class ShareOwner : uint8_t { Passthrough, Mapped };
// "passthrough" / "mapped": the --fs option words, the API's "owner".
const char* share_owner_name(ShareOwner owner);
std::optional<ShareOwner> share_owner_from_name(std::string_view name);

// A host directory shown to the guest (--fs HOSTDIR[:GUESTPATH][:OPTS], --rootfs DIR[:OPTS]).
struct ShareSpec {
    std::string host_path;
    std::string guest_path;  // absolute, normalised
    bool read_only = false;
    ShareOwner owner = ShareOwner::Passthrough;
    // Not an option: set when the share is built, from the host (a regular
    // file at host_path is a single-file share, devices/fs.hpp FsShare::file).
    bool file = false;
};


// A tmpfs in guest RAM (--tmpfs PATH[:SIZE]).
struct TmpfsSpec {
    std::string guest_path;  // absolute, normalised
    uint64_t size = 0;       // 0: half of the guest's RAM
};

// A host file shown as a block device (--disk FILE[:ro]): /dev/vda, /dev/vdb, ...
struct DiskSpec {
    std::string path;
    bool read_only = false;
};

// Networking (devices/net.hpp, docs/design.md "Networking"):
//   none: a loopback inside the VM; the host is reached only through -p ports;
//   host: AF_INET/AF_INET6 sockets are host sockets in the host's namespace,
//     or (ns:PATH) in the network namespace at PATH, which the monitor joins
//     before it opens any socket.
//   user: host sockets in a network namespace of the VM's own that pasta
//     connects to the outside (devices/user_net.hpp); -p in the host's.
enum class NetMode { None, Host, User };

// Are the guest's AF_INET/AF_INET6 sockets host sockets (kHcNet)?
inline bool uses_host_sockets(NetMode m) { return m != NetMode::None; }

// --net none | host | user | ns:PATH
struct NetSpec {
    NetMode mode = NetMode::None;
    std::string netns_path;  // ns:PATH: e.g. /run/netns/NAME (ip netns), /proc/PID/ns/net
};

// -p [HOSTIP:]HOSTPORT:GUESTPORT[/udp|/tcp]
struct PublishSpec {
    std::string host_ip;  // "" = all addresses (0.0.0.0)
    uint16_t host_port = 0;
    uint16_t guest_port = 0;
    bool udp = false;
};

Result<NetSpec> parse_net(std::string_view text);
// The /etc/resolv.conf text for --dns servers: one line naming the first
// bad address, or more than kMaxDns of them, is an error.
inline constexpr size_t kMaxDns = 3;
Result<std::string> resolv_conf_text(const std::vector<std::string>& servers);
Result<PublishSpec> parse_publish(std::string_view text);
// The texts the parsers above (and parse_tmpfs) read back into the same
// value: how `lightvm run -d` hands its flags to lightvmd.
std::string net_mode_text(NetMode mode, const std::string& netns_path);
std::string publish_text(const PublishSpec& p);

// Interrupt test and benchmark knobs (guest tests, bench/): not on the CLI.
struct IrqTestConfig {
    uint64_t doorbell_period_ns = 0;  // a doorbell from a host timer this often
    bool doorbell_on_exit = false;    // a doorbell at every hypercall exit
    uint64_t guest_timer_ns = 0;      // BootInfo.irq_test_timer_ns: the guest re-arms its timer this often
    uint64_t mask_ns = 0;             // BootInfo.irq_test_mask_ns: the guest boots masked (10 interrupts, at most this long)
};

// --save (docs/snapshot-format.md): the running VM saves itself once. The
// files are opened by the caller before the VM starts, because the monitor
// is sandboxed by the time it saves and may open nothing new.
struct SaveSpec {
    int state_fd = -1, mem_fd = -1;  // -1: no save
    double after_seconds = 0;        // from the start of the run
    bool stop = false;               // end the VM after saving (exit status 0)
    std::string boot_id;             // this host's boot (a restore in another rebases the guest's clock)
    bool at_ready = false;           // not after a time: when the program marks its ready point (abi.h HcReady)
    // On demand (lightvmd's snapshot API): when request_save() (monitor/vm.hpp)
    // is called, the run asks `fetch` for the files and whether to stop
    // after, saves at the next safe point, and tells `done` the outcome.
    // A failed on-demand save is reported, not fatal: the VM keeps running.
    struct Demand {
        int state_fd = -1, mem_fd = -1;
        bool stop = false;
        // A live migration instead of a save: the connection lightvmd made
        // to the target and said hello on (docs/migration.md).
        int migrate_fd = -1;
    };
    std::function<Result<Demand>()> fetch;
    std::function<void(const Result<void>& saved, uint64_t bytes, uint64_t save_ns)> done;
    // A save the VM made itself (--save-after's timer, --save-at-ready),
    // for a caller that must act on it (lightvmd renames its files).
    std::function<void(const Result<void>& saved, uint64_t bytes, uint64_t save_ns)> self_done;
    // A migration's outcome, once known (before the run ends if it moved).
    std::function<void(const struct MigrationReport&)> migrated;
};

// How a live migration ended, for lightvmd (monitor/vm_migrate.hpp).
struct MigrationReport {
    enum class Outcome { Migrated, Failed, Unknown };
    Outcome outcome = Outcome::Failed;
    std::string error;         // Failed/Unknown: why
    std::string target_reply;  // the target's Started frame (JSON text)
    uint32_t rounds = 0;       // pre-copy rounds after the first full pass
    uint64_t bytes = 0;        // guest RAM sent, all rounds
    uint64_t final_bytes = 0;  // of which while the guest was stopped
    uint64_t precopy_ns = 0;   // first page sent -> guest stopped
    uint64_t downtime_ns = 0;  // guest stopped -> the target said it runs
};

struct VmConfig {
    std::string app_path;                // host path of the static executable
    // What the guest's /proc/self/exe names; empty: app_path's real host
    // path (right when the share shows host paths as they are). lightvm-oci
    // sets the path inside the container's root, where busybox re-executes it.
    std::string exe_path;
    std::vector<std::string> argv;       // argv[0] included
    std::vector<std::string> env;        // "K=V"
    uint64_t mem_size = 256ull << 20;    // guest RAM
    double timeout_seconds = 0;          // 0 = none
    bool trace = false;                  // strace-style syscall log on stderr
    bool stats = false;                  // collect memory statistics (costs a mincore)
    // --overcommit: accept a mem_size larger than the host can back now
    // (memory/admission.hpp); otherwise such a VM is refused before it starts.
    bool overcommit = false;
    bool test_hooks = false;             // tests only: enables the guest kernel's test-hook syscall
    bool no_aslr = false;                // --no-aslr: same addresses every run (debugging, benchmarks)
    uint32_t max_procs = abi::kDefaultPids;  // --pids: processes at once (fork beyond: EAGAIN)
    // --cpus: vCPUs the guest may use (1 to abi::kMaxCpus); vCPU 0 starts,
    // the guest starts the others when it has work for them.
    uint32_t cpus = 1;
    // Leave the KVM objects and guest memory alive when run_vm returns, so
    // a CLI can tear them down off the critical path (see cli/fast_exit).
    bool defer_teardown = false;
    std::string hostname = "lightvm";
    // lightvm-oci: the first process is a container's init. Host signals it
    // has no handler for are dropped, as Linux drops them for a pid
    // namespace's init, instead of stopping the VM with 128+N: `docker stop`
    // then ends in SIGKILL after its timeout, as it does with runc.
    bool ignore_unhandled_signals = false;
    // lightvm-oci: Docker bind-mounts its own /etc/hosts and /etc/hostname
    // over empty files in the container's root; a share is a directory, so
    // the guest kernel serves these two itself, over the root's
    // (monitor/etc_files.hpp): localhost and `hostname`.
    bool serve_etc_hosts = false, serve_etc_hostname = false;
    // --user UID[:GID]: who the program is inside the VM (not on the host:
    // that is --uid/--gid). Non-root gets Linux's file permission checks
    // and no capabilities (docs/compat.md, "Users and permissions").
    struct User {
        uint32_t uid = 0, gid = 0;
        std::vector<uint32_t> groups;  // supplementary, beyond gid (<= abi::kMaxUserGroups)
    } user;
    // --dns: name servers (IPv4/IPv6 addresses, at most 3 as glibc reads)
    // the guest's /etc/resolv.conf names, in place of the rootfs's file.
    std::vector<std::string> dns;
    std::vector<ShareSpec> shares;
    std::vector<DiskSpec> disks;
    // --tmpfs PATH[:SIZE]: file systems in guest RAM. /tmp and /dev/shm get
    // one by default (half of mem_size each, as Linux's tmpfs) unless a
    // share provides them (at or below them; for /tmp also --rootfs or any
    // share above it) or an entry here names them.
    std::vector<TmpfsSpec> tmpfs;
    std::string cwd = "/";               // guest working directory at start
    // Host streams the guest's stdin/stdout/stderr are wired to.
    int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
    // The caller had these standard fds closed: the guest starts without them.
    bool stdio_closed[3] = {false, false, false};
    // Where --trace lines and monitor reports go.
    int diag_fd = 2;
    // lightvmd's detached VMs: stdout and stderr are output.log in this
    // directory, rotated by the monitor at log_max bytes (-1: not a log).
    int log_dir_fd = -1;
    uint64_t log_max = 0;
    IrqTestConfig irq_test;
    NetMode net = NetMode::None;          // --net
    std::string netns_path;               // --net ns:PATH (net is Host): the namespace the sockets live in
    std::vector<PublishSpec> publish;     // -p, in order
    // The host's network namespace, held by a process that has left it
    // (lightvmd's monitors leave it while they wait in the pool): where -p
    // ports are bound and --net user/host start (NetDevice::create). -1:
    // this process never left it. Not owned.
    int host_netns_fd = -1;
    // --restore PATH: continue a saved VM instead of starting APP (app_path
    // and argv are unused; memory, shares and disks come from the snapshot).
    std::string restore_path;
    // --record-working-set (with --restore): PATH.ws, opened by the caller,
    // gets the pages this restored VM touched, at its end; -1: none.
    int record_ws_fd = -1;
    bool restore_prefault = false;  // --prefault: copy the snapshot's pages in before the first instruction
    // The snapshot is a live migration's hand-over: the same VM goes on,
    // not a clone (no new random seed, no new clone generation).
    bool restore_migrated = false;
    SaveSpec save;
};

// "256M", "1G", "64MiB", "1048576" -> bytes. Rejects junk, zero, overflow.
Result<uint64_t> parse_size(std::string_view text);

// "--fs HOSTDIR[:GUESTPATH][:OPTS]" -> ShareSpec. Without GUESTPATH the
// directory appears at its absolute host path, so relative paths inside the
// guest mean what they mean on the host. OPTS is a comma-separated list of
// ro, rw, mapped, passthrough; the last colon field is one when it has no
// '/' (a guest path is absolute), and then every word must be known and
// ro/rw, mapped/passthrough must not conflict (one-line errors otherwise).
Result<ShareSpec> parse_share(std::string_view text);
// "--rootfs DIR[:OPTS]" -> the share at "/", options as for --fs.
Result<ShareSpec> parse_rootfs(std::string_view text);
// "--disk FILE[:ro]" -> DiskSpec.
Result<DiskSpec> parse_disk(std::string_view text);
// "--tmpfs PATH[:SIZE]" -> TmpfsSpec.
Result<TmpfsSpec> parse_tmpfs(std::string_view text);
std::string tmpfs_text(const TmpfsSpec& t);
// The tmpfs mounts a VM gets: the defaults (/tmp, /dev/shm) that no share
// covers and no --tmpfs names, then cfg.tmpfs; sizes resolved.
std::vector<TmpfsSpec> effective_tmpfs(const VmConfig& cfg);
// Lexically normalised absolute path ("/a/./b/../c" -> "/a/c"); error if relative.
Result<std::string> normalise_guest_path(std::string_view path);

// Checks ranges and rounds mem_size up to 2 MiB.
Result<VmConfig> validate(VmConfig cfg);

// The vCPUs a VM gets when its user does not say (`lightvm run` without
// --cpus, an OCI container without a CPU limit): the host CPUs this
// process may run on (its affinity mask: taskset and cpusets count), at
// most abi::kMaxCpus. vCPUs start only when the guest has work for them,
// so this costs a single-threaded program nothing.
uint32_t host_vcpus();

}  // namespace lightvm
