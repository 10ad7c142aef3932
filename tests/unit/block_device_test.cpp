// Tests for the block device: transfers at odd offsets and lengths, the
// capacity edge, flushes that reach the file, read-only devices, the lock
// that keeps two VMs off one image, and hostile requests.
#include "devices/block.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lightvm/abi.h"

namespace lightvm {
namespace {

constexpr uint64_t kMemSize = 16ull << 20;
constexpr uint64_t kArg = 0x1000;
constexpr uint64_t kBuf = 0x100000;
constexpr uint64_t kCapacity = (1ull << 20) + 123;  // deliberately not sector aligned

class BlockDeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lightvm-block-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        m_path = m_dir + "/disk.img";
        m_image.resize(kCapacity);
        for (size_t i = 0; i < m_image.size(); ++i)
            m_image[i] = static_cast<uint8_t>(i * 7 + i / 251);
        UniqueFd fd(::open(m_path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        ASSERT_TRUE(fd.valid());
        ASSERT_EQ(::write(fd.get(), m_image.data(), m_image.size()), static_cast<ssize_t>(m_image.size()));
        auto mem = GuestMemory::create(kMemSize);
        ASSERT_TRUE(mem) << mem.error().to_string();
        m_mem = std::move(*mem);
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }

    // Run one request; the result the guest reads back.
    int64_t request(BlockDevice& dev, uint32_t op, uint64_t offset, uint64_t len, uint64_t buf = kBuf) {
        abi::HcBlock hc{op, 0, buf, len, offset, 0x5a5a};
        EXPECT_TRUE(m_mem.write(kArg, hc));
        auto r = dev.hypercall(m_mem, kArg);
        EXPECT_TRUE(r) << r.error().to_string();
        return m_mem.read<abi::HcBlock>(kArg)->result;
    }
    Error fault(BlockDevice& dev, abi::HcBlock hc) {
        EXPECT_TRUE(m_mem.write(kArg, hc));
        auto r = dev.hypercall(m_mem, kArg);
        EXPECT_FALSE(r);
        if (r)
            return Error{};
        EXPECT_EQ(r.error().kind, ErrorKind::GuestFault) << r.error().to_string();
        EXPECT_EQ(m_mem.read<abi::HcBlock>(kArg)->result, hc.result) << "nothing written back";
        return r.error();
    }

    std::vector<uint8_t> guest(uint64_t gpa, size_t n) {
        auto s = m_mem.span(gpa, n);
        return std::vector<uint8_t>(s->begin(), s->end());
    }
    // The file's bytes through a separate descriptor.
    std::vector<uint8_t> file_bytes() {
        UniqueFd fd(::open(m_path.c_str(), O_RDONLY | O_CLOEXEC));
        std::vector<uint8_t> out(kCapacity + 4096);
        ssize_t n = ::pread(fd.get(), out.data(), out.size(), 0);
        out.resize(n < 0 ? 0 : static_cast<size_t>(n));
        return out;
    }
    BlockDevice open(bool read_only) {
        auto dev = BlockDevice::open(m_path, read_only);
        EXPECT_TRUE(dev) << dev.error().to_string();
        return std::move(*dev);
    }

    std::string m_dir, m_path;
    std::vector<uint8_t> m_image;
    GuestMemory m_mem;
};

TEST_F(BlockDeviceTest, OpenReportsTheFile) {
    BlockDevice dev = open(false);
    EXPECT_EQ(dev.capacity(), kCapacity);
    EXPECT_FALSE(dev.read_only());
    EXPECT_EQ(dev.path(), m_path);
    EXPECT_EQ(dev.bytes_read(), 0u);
    EXPECT_EQ(dev.bytes_written(), 0u);
}

TEST_F(BlockDeviceTest, ReadAtOddOffsetsAndLengths) {
    BlockDevice dev = open(false);
    for (auto [off, len] : std::vector<std::pair<uint64_t, uint64_t>>{
             {0, 512}, {1, 1}, {511, 3}, {4097, 1001}, {12345, 65537}, {0, kCapacity}, {kCapacity - 1, 1}}) {
        ASSERT_EQ(request(dev, abi::kBlockRead, off, len), static_cast<int64_t>(len)) << off << "+" << len;
        EXPECT_EQ(guest(kBuf, len), std::vector<uint8_t>(m_image.begin() + off, m_image.begin() + off + len));
    }
    EXPECT_EQ(request(dev, abi::kBlockRead, 100, 0), 0);
    EXPECT_GT(dev.bytes_read(), kCapacity);
}

TEST_F(BlockDeviceTest, WriteAtOddOffsetsReachesTheFile) {
    BlockDevice dev = open(false);
    std::vector<uint8_t> data(70001);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(0xa5 ^ i);
    ASSERT_TRUE(m_mem.write_bytes(kBuf, data));
    EXPECT_EQ(request(dev, abi::kBlockWrite, 4097, 1001), 1001);
    EXPECT_EQ(request(dev, abi::kBlockWrite, 99999, data.size()), static_cast<int64_t>(data.size()));
    std::copy(data.begin(), data.begin() + 1001, m_image.begin() + 4097);
    std::copy(data.begin(), data.end(), m_image.begin() + 99999);
    EXPECT_EQ(file_bytes(), m_image);
    EXPECT_EQ(dev.bytes_written(), 1001u + data.size());

    // And back through the device.
    ASSERT_TRUE(m_mem.write_bytes(kBuf, std::vector<uint8_t>(2000, 0)));
    EXPECT_EQ(request(dev, abi::kBlockRead, 4097, 1001), 1001);
    EXPECT_EQ(guest(kBuf, 1001), std::vector<uint8_t>(data.begin(), data.begin() + 1001));
}

TEST_F(BlockDeviceTest, PastTheEnd) {
    BlockDevice dev = open(false);
    EXPECT_EQ(request(dev, abi::kBlockRead, kCapacity - 10, 100), 10);
    EXPECT_EQ(guest(kBuf, 10), std::vector<uint8_t>(m_image.end() - 10, m_image.end()));
    EXPECT_EQ(request(dev, abi::kBlockRead, kCapacity, 100), 0);
    EXPECT_EQ(request(dev, abi::kBlockRead, kCapacity + 4096, 100), 0);
    EXPECT_EQ(request(dev, abi::kBlockRead, ~0ull - 5, 100), 0);

    ASSERT_TRUE(m_mem.write_bytes(kBuf, std::vector<uint8_t>(100, 0xee)));
    EXPECT_EQ(request(dev, abi::kBlockWrite, kCapacity - 10, 100), 10);  // short, up to the end
    EXPECT_EQ(request(dev, abi::kBlockWrite, kCapacity, 1), -ENOSPC);
    EXPECT_EQ(request(dev, abi::kBlockWrite, ~0ull - 5, 100), -ENOSPC);
    EXPECT_EQ(request(dev, abi::kBlockWrite, kCapacity, 0), 0);
    std::fill(m_image.end() - 10, m_image.end(), 0xee);
    EXPECT_EQ(file_bytes(), m_image) << "the file never grows";
}

TEST_F(BlockDeviceTest, FlushReachesTheFile) {
    BlockDevice dev = open(false);
    ASSERT_TRUE(m_mem.write_bytes(kBuf, std::vector<uint8_t>(777, 0x42)));
    EXPECT_EQ(request(dev, abi::kBlockWrite, 333, 777), 777);
    EXPECT_EQ(request(dev, abi::kBlockFlush, 0, 0), 0);
    std::fill(m_image.begin() + 333, m_image.begin() + 333 + 777, 0x42);
    EXPECT_EQ(file_bytes(), m_image);
}

TEST_F(BlockDeviceTest, ReadOnlyRefusesWrites) {
    BlockDevice dev = open(true);
    EXPECT_TRUE(dev.read_only());
    ASSERT_TRUE(m_mem.write_bytes(kBuf, std::vector<uint8_t>(512, 0x11)));
    EXPECT_EQ(request(dev, abi::kBlockWrite, 0, 512), -EROFS);
    EXPECT_EQ(request(dev, abi::kBlockWrite, kCapacity + 1, 512), -EROFS);
    EXPECT_EQ(request(dev, abi::kBlockRead, 0, 512), 512);
    EXPECT_EQ(guest(kBuf, 512), std::vector<uint8_t>(m_image.begin(), m_image.begin() + 512));
    EXPECT_EQ(request(dev, abi::kBlockFlush, 0, 0), 0);
    EXPECT_EQ(file_bytes(), m_image);
    EXPECT_EQ(dev.bytes_written(), 0u);

    // Read-only even works on a file the user may not write.
    ASSERT_EQ(::chmod(m_path.c_str(), 0444), 0);
    auto again = BlockDevice::open(m_path, true);
    EXPECT_TRUE(again) << again.error().to_string();
}

TEST_F(BlockDeviceTest, OneWriterOrManyReaders) {
    {
        BlockDevice writer = open(false);
        auto second = BlockDevice::open(m_path, false);
        ASSERT_FALSE(second);
        EXPECT_EQ(second.error().to_string(), "--disk " + m_path + ": in use by another VM");
        auto reader = BlockDevice::open(m_path, true);
        ASSERT_FALSE(reader);
        EXPECT_EQ(reader.error().to_string(), "--disk " + m_path + ": in use by another VM");
    }
    {
        BlockDevice r1 = open(true);
        BlockDevice r2 = open(true);
        auto writer = BlockDevice::open(m_path, false);
        ASSERT_FALSE(writer);
        EXPECT_EQ(writer.error().to_string(), "--disk " + m_path + ": in use by another VM");
        // Moving a device keeps its lock.
        BlockDevice moved = std::move(r1);
        EXPECT_FALSE(BlockDevice::open(m_path, false));
    }
    // Released when the devices go away.
    BlockDevice writer = open(false);
    EXPECT_EQ(writer.capacity(), kCapacity);
}

TEST_F(BlockDeviceTest, OpenErrors) {
    auto missing = BlockDevice::open(m_dir + "/missing.img", false);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
    EXPECT_EQ(missing.error().to_string(), "--disk " + m_dir + "/missing.img: No such file or directory");

    auto dir = BlockDevice::open(m_dir, true);
    ASSERT_FALSE(dir);
    EXPECT_NE(dir.error().to_string().find("--disk " + m_dir), std::string::npos);

    // A FIFO: refused, and without waiting for a writer.
    ::alarm(20);
    const std::string fifo = m_dir + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (bool ro : {true, false}) {
        auto f = BlockDevice::open(fifo, ro);
        ASSERT_FALSE(f);
        EXPECT_EQ(f.error().kind, ErrorKind::BadInput);
        EXPECT_EQ(f.error().to_string(), "--disk " + fifo + ": not a regular file or block device");
    }
    ::alarm(0);

    auto empty = BlockDevice::open(m_dir + "/empty", false);
    EXPECT_FALSE(empty);
    UniqueFd e(::open((m_dir + "/empty").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    auto zero = BlockDevice::open(m_dir + "/empty", false);
    ASSERT_TRUE(zero);
    EXPECT_EQ(zero->capacity(), 0u);
    EXPECT_EQ(request(*zero, abi::kBlockRead, 0, 10), 0);
    EXPECT_EQ(request(*zero, abi::kBlockWrite, 0, 10), -ENOSPC);
}

TEST_F(BlockDeviceTest, HostileRequestsFault) {
    BlockDevice dev = open(false);
    EXPECT_FALSE(dev.hypercall(m_mem, kMemSize));
    EXPECT_FALSE(dev.hypercall(m_mem, kMemSize - sizeof(abi::HcBlock) + 1));
    EXPECT_FALSE(dev.hypercall(m_mem, ~0ull));
    Error e = fault(dev, {abi::kBlockRead, 0, kMemSize - 100, 4096, 0, 7});
    EXPECT_NE(e.to_string().find("outside guest memory"), std::string::npos) << e.to_string();
    fault(dev, {abi::kBlockWrite, 0, kMemSize, 1, 0, 7});
    fault(dev, {abi::kBlockRead, 0, 4096, ~0ull, 0, 7});
    fault(dev, {abi::kBlockRead, 0, ~0ull - 10, 100, 0, 7});
    // The range is checked even when the request would do nothing.
    fault(dev, {abi::kBlockRead, 0, kMemSize, 1, kCapacity + 1, 7});
    for (uint32_t op : {0u, 4u, 0xffffffffu}) {
        Error u = fault(dev, {op, 0, kBuf, 1, 0, 7});
        EXPECT_NE(u.to_string().find("unknown operation"), std::string::npos);
    }
    EXPECT_EQ(file_bytes(), m_image);
}

}  // namespace
}  // namespace lightvm
