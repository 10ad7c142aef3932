// A scratch directory for guest tests that save snapshots and then edit
// the files the way a test needs (another boot, a state the host's
// scheduling makes only sometimes): SaveSpec files in it, and the state
// file decoded and encoded again (snapshot/format.hpp, which re-seals the
// checksum).
#pragma once

#include <fcntl.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "guest_test_util.hpp"
#include "snapshot/format.hpp"

namespace lightvm::test {

class SnapshotFilesTest : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lightvm-snapfiles-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override {
        if (!dir.empty())
            (void)std::system(("rm -rf " + dir).c_str());
    }
    std::string path(const std::string& name) const { return dir + "/" + name; }
    // dir/NAME and dir/NAME.mem, held open for the run; a stop after the save.
    SaveSpec save_to(const std::string& name, double after, const std::string& boot_id = snapshot::host_boot_id()) {
        m_state = UniqueFd(::open(path(name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        m_mem = UniqueFd(::open(path(name + ".mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        return SaveSpec{m_state.get(), m_mem.get(), after, /*stop=*/true, boot_id};
    }
    snapshot::Snapshot read_state(const std::string& name) {
        std::ifstream f(path(name), std::ios::binary);
        std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
        auto s = snapshot::decode(bytes);
        EXPECT_TRUE(s) << s.error().to_string();
        return s ? *s : snapshot::Snapshot{};
    }
    void write_state(const std::string& name, const snapshot::Snapshot& s) {
        const auto bytes = snapshot::encode(s);
        std::ofstream(path(name), std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    std::string dir;

private:
    UniqueFd m_state, m_mem;
};

}  // namespace lightvm::test
