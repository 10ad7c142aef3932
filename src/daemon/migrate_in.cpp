// lightvmd as a live migration's target (docs/migration.md): lightvmd
// --migrate-listen ADDR:PORT. Per connection: check the hello, write the
// pages into a memory file, take the state, restore the VM held before
// its first instruction, say Ready, and run it on Go. Anything that goes
// wrong before Go leaves nothing behind here; the source runs on.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cstring>
#include <random>
#include <thread>
#include <utility>

#include "lightvm/abi.h"
#include "common/file_io.hpp"
#include "daemon/daemon.hpp"
#include "daemon/link.hpp"
#include "daemon/migrate_net.hpp"
#include "lightvm/vm.hpp"
#include "migration/wire.hpp"
#include "snapshot/format.hpp"

namespace lightvm::daemon {

namespace {

constexpr uint64_t kPage = 4096;
constexpr int kMaxIncoming = 4;

// A shell taken for an incoming VM: killed if the VM never gets it.
struct ShellGuard {
    std::optional<Shell> shell;
    ~ShellGuard() {
        if (shell) {
            ::kill(shell->pid, SIGKILL);
            ::waitpid(shell->pid, nullptr, 0);
        }
    }
};

struct Hello {
    std::string name, source_id;
    uint64_t mem_size = 0;
    bool rm = false;
};

bool same_secret(const std::string& a, const std::string& b) {
    unsigned diff = a.size() != b.size();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

Result<Hello> parse_hello(const std::string& text, const std::string& secret) {
    auto refuse = [](const std::string& why) { return make_error(ErrorKind::BadInput, "hello", why); };
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || j.value("magic", "") != migration::kMagic)
        return refuse("not a lightvm migration");
    if (j.value("version", 0u) != migration::kProtocolVersion)
        return refuse("protocol version " + std::to_string(j.value("version", 0u)) + "; this lightvmd speaks " +
                      std::to_string(migration::kProtocolVersion));
    if (!secret.empty() && !same_secret(j.value("secret", ""), secret))
        return refuse("wrong or missing migration secret (--migrate-secret)");
    if (j.value("abi", 0u) != abi::kAbiVersion)
        return refuse("guest ABI " + std::to_string(j.value("abi", 0u)) + "; this lightvm runs " +
                      std::to_string(abi::kAbiVersion));
    Hello h;
    h.name = j.value("name", "");
    h.source_id = j.value("source_id", "");
    h.rm = j.value("rm", false);
    h.mem_size = j.value("mem_size", uint64_t{0});
    if (!h.name.empty())
        TRY(check_name(h.name));
    VmConfig probe;
    probe.app_path = "migration";
    probe.mem_size = h.mem_size;
    auto valid = validate(std::move(probe));
    if (!valid || valid->mem_size != h.mem_size)
        return refuse("mem_size " + std::to_string(h.mem_size) + " is not a VM memory size here");
    return h;
}

// The incoming VM's files until its monitor has them open: STATE_DIR/
// incoming/RANDOM.snap and .snap.mem.
struct IncomingFiles {
    std::string state_path, mem_path;
    UniqueFd mem;
    ~IncomingFiles() {
        if (!state_path.empty())
            ::unlink(state_path.c_str());
        if (!mem_path.empty())
            ::unlink(mem_path.c_str());
    }
};

Result<void> create_files(const std::string& dir, uint64_t mem_size, IncomingFiles& f) {
    ::mkdir(dir.c_str(), 0700);
    std::random_device rd;
    const std::string base = dir + "/" + std::to_string(rd()) + std::to_string(rd());
    f.state_path = base + ".snap";
    f.mem_path = f.state_path + ".mem";
    f.mem = UniqueFd(::open(f.mem_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f.mem.valid())
        return sys_error("incoming memory file " + f.mem_path);
    if (::ftruncate(f.mem.get(), static_cast<off_t>(mem_size)) < 0)
        return sys_error("incoming memory file " + f.mem_path);
    return {};
}

std::vector<snapshot::MemExtent> extents_of(const std::vector<uint64_t>& pages) {
    std::vector<snapshot::MemExtent> out;
    for (uint64_t p = 0; p < pages.size() * 64; ++p) {
        if (!(pages[p / 64] >> (p % 64) & 1))
            continue;
        if (!out.empty() && out.back().gpa + out.back().len == p * kPage)
            out.back().len += kPage;
        else
            out.push_back({p * kPage, kPage});
    }
    return out;
}

// Pages and Zero frames into the memory file, then the state, until End.
// Returns the state file's content, its extents from what came.
Result<std::vector<uint8_t>> receive_vm(int sock, IncomingFiles& f, uint64_t mem_size) {
    std::vector<uint64_t> pages((mem_size / kPage + 63) / 64, 0);
    std::vector<uint8_t> buf(migration::kMaxPagesFrame);
    std::optional<snapshot::Snapshot> state;
    for (;;) {
        const auto h = TRY(migration::recv_header(sock, mem_size));
        switch (static_cast<migration::Frame>(h.type)) {
        case migration::Frame::Pages:
            TRY(migration::recv_exact(sock, buf.data(), h.len));
            TRY(write_all_at(f.mem.get(), buf.data(), h.len, h.a, "incoming memory file"));
            for (uint64_t p = h.a / kPage; p < (h.a + h.len) / kPage; ++p)
                pages[p / 64] |= uint64_t{1} << (p % 64);
            break;
        case migration::Frame::Zero:
            if (::fallocate(f.mem.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(h.a),
                            static_cast<off_t>(h.len)) < 0)
                return sys_error("incoming memory file: punch a hole");
            for (uint64_t p = h.a / kPage; p < (h.a + h.len) / kPage; ++p)
                pages[p / 64] &= ~(uint64_t{1} << (p % 64));
            break;
        case migration::Frame::State: {
            std::vector<uint8_t> bytes(h.len);
            TRY(migration::recv_exact(sock, bytes.data(), h.len));
            auto decoded = snapshot::decode(bytes);
            if (!decoded)
                return make_error(ErrorKind::BadInput, "state", decoded.error().message);
            if (decoded->mem_size != mem_size)
                return make_error(ErrorKind::BadInput, "state", "its memory size differs from the hello's");
            state = std::move(*decoded);
            break;
        }
        case migration::Frame::End:
            if (!state)
                return make_error(ErrorKind::BadInput, "migration", "end before the state");
            state->extents = extents_of(pages);
            return snapshot::encode(*state);
        default:
            return make_error(ErrorKind::BadInput, "migration",
                              std::string("unexpected ") + migration::frame_name(h.type) + " frame");
        }
    }
}

}  // namespace

Result<void> Daemon::listen_migrations(const std::string& at_text) {
    auto at = TRY(parse_endpoint(at_text));
    auto listener = TRY(listen_endpoint(at));
    std::thread([this, fd = std::move(listener)] {
        for (;;) {
            int c = ::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                    continue;
                return;
            }
            std::thread([this, c] { serve_migration(UniqueFd(c)); }).detach();
        }
    }).detach();
    return {};
}

void Daemon::serve_migration(UniqueFd sock) {
    // Each incoming VM holds up to its memory size in STATE_DIR/incoming
    // until it runs: a few at once, the rest are told to come back.
    static std::atomic<int> incoming{0};
    struct Count {
        ~Count() { incoming--; }
    } count;
    prepare_migration_socket(sock.get());
    if (++incoming > kMaxIncoming) {
        (void)migration::send_frame(sock.get(), migration::Frame::Error,
                                    "migration: " + std::to_string(kMaxIncoming) + " migrations are arriving already; try again");
        return;
    }
    auto received = receive_migration(sock.get());
    if (!received)
        (void)migration::send_frame(sock.get(), migration::Frame::Error, received.error().to_string());
}

Result<void> Daemon::receive_migration(int sock) {
    auto hello_text = TRY(migration::expect_text(sock, migration::Frame::Hello, 0));
    const Hello hello = TRY(parse_hello(hello_text, m_opt.migrate_secret));
    {
        std::lock_guard lock(m_mu);
        for (auto& [id, other] : m_vms)
            if (!hello.name.empty() && other->name == hello.name)
                return make_error(ErrorKind::BadInput, "migration", "the name '" + hello.name + "' is taken here");
    }
    IncomingFiles files;
    TRY(create_files(m_opt.state_dir + "/incoming", hello.mem_size, files));
    // The VM's shell is made ready (unbooted, as a restore needs) while the
    // pages come: ~1-2 ms less downtime (docs/migration.md).
    auto shell = m_pool.take(hello.mem_size);
    if (!shell)
        return tl::unexpected(shell.error());
    ShellGuard held{std::move(*shell)};
    (void)send_message(held.shell->link.get(), json{{"fresh", true}}.dump());
    TRY(migration::send_frame(sock, migration::Frame::Accept, json{{"version", migration::kProtocolVersion}}.dump()));
    const auto state = TRY(receive_vm(sock, files, hello.mem_size));

    UniqueFd state_fd(::open(files.state_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!state_fd.valid())
        return sys_error("incoming state file " + files.state_path);
    TRY(write_all_at(state_fd.get(), state.data(), state.size(), 0, "incoming state file"));
    state_fd = UniqueFd();

    CreateRequest req;
    req.name = hello.name;
    req.auto_remove = hello.rm;
    req.config.restore_path = files.state_path;
    req.config.restore_migrated = true;
    req.config.mem_size = hello.mem_size;
    req.config.app_path = "migration";  // for validate(); a restore runs no app
    auto vm = admit(std::move(req), false);
    if (!vm)
        return make_error(ErrorKind::BadInput, "migration", vm.error().message);
    {
        std::lock_guard lock(m_mu);
        (*vm)->migrated_from = hello.source_id;
        (*vm)->request.config.app_path.clear();
    }
    auto started = start((*vm)->id, monotonic_ns(), true, std::exchange(held.shell, std::nullopt));
    if (!started) {
        std::lock_guard lock(m_mu);
        erase((*vm)->id);
        return make_error(ErrorKind::BadInput, "restore", started.error().message);
    }
    // The monitor has both files open (or mapped): their names can go.
    return hand_over(sock, *vm);
}

// Ready, then the source's Go, then the held monitor may run. No Go: the
// VM never ran here; it is killed and forgotten.
Result<void> Daemon::hand_over(int sock, const std::shared_ptr<VmRecord>& vm) {
    auto drop = [&](const Error& why) -> Result<void> {
        std::unique_lock lock(m_mu);
        vm->killed_by_request = true;
        ::kill(vm->pid, SIGKILL);
        m_changed.wait(lock, [&] { return vm->state == VmState::Exited; });
        if (!vm->removed)
            erase(vm->id);
        return tl::unexpected(why);
    };
    {
        std::unique_lock lock(m_mu);
        m_changed.wait(lock, [&] { return vm->link_fd >= 0 || vm->state == VmState::Exited; });
        if (vm->state == VmState::Exited)
            return make_error(ErrorKind::System, "restore", vm->error.empty() ? "the restored VM ended" : vm->error);
    }
    auto ready = migration::send_frame(sock, migration::Frame::Ready, json{{"id", vm->id}}.dump());
    if (!ready)
        return drop(ready.error());
    auto go = migration::recv_header(sock, 0);
    if (!go)
        return drop(go.error());
    if (go->type != static_cast<uint32_t>(migration::Frame::Go))
        return drop(Error{ErrorKind::BadInput, 0, "migration", std::string("expected go, got ") +
                                                                   migration::frame_name(go->type)});
    {
        std::lock_guard lock(m_mu);
        // An Error frame after Go promises the source that the VM never
        // ran here: it may run on there.
        if (vm->link_fd < 0 || !send_message(vm->link_fd, json{{"go", true}}.dump()))
            return make_error(ErrorKind::System, "migration", "the restored VM's monitor is gone; it never ran here");
    }
    // Started first (it ends the source's downtime), the bookkeeping after.
    auto started = migration::send_frame(sock, migration::Frame::Started,
                                         json{{"id", vm->id}, {"name", vm->name}}.dump());
    {
        std::lock_guard lock(m_mu);
        emit("migrated-in", *vm);
    }
    m_pool.refill();
    return started;
}

}  // namespace lightvm::daemon
