// Tests for Result/Error: the one-line error text, errno mapping and TRY.
#include "common/result.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace lightvm {
namespace {

TEST(ErrorToString, WhereAndMessage) {
    Error e{ErrorKind::BadInput, 0, "size", "invalid size 'x'"};
    EXPECT_EQ(e.to_string(), "size: invalid size 'x'");
}

TEST(ErrorToString, MessageWithoutWhere) {
    Error e{ErrorKind::BadInput, 0, "", "just the message"};
    EXPECT_EQ(e.to_string(), "just the message");
}

TEST(ErrorToString, CodeUsesStrerror) {
    Error e{ErrorKind::System, EACCES, "open /x", ""};
    EXPECT_EQ(e.to_string(), std::string("open /x: ") + std::strerror(EACCES));
}

TEST(ErrorToString, MessageWinsOverCode) {
    Error e{ErrorKind::System, EACCES, "open", "custom"};
    EXPECT_EQ(e.to_string(), "open: custom");
}

TEST(ErrorToString, NothingKnown) {
    Error e{};
    EXPECT_EQ(e.to_string(), "unknown error");
    e.where = "KVM_RUN";
    EXPECT_EQ(e.to_string(), "KVM_RUN: unknown error");
}

TEST(ErrorToString, NewlinesBecomeSpaces) {
    Error e{ErrorKind::GuestFault, 0, "gu\nest", "line1\nline2\r\nFAKE: forged"};
    std::string s = e.to_string();
    EXPECT_EQ(s.find('\n'), std::string::npos);
    EXPECT_EQ(s.find('\r'), std::string::npos);
    EXPECT_EQ(s, "gu est: line1 line2  FAKE: forged");
}

TEST(SysError, EnoentIsNotFound) {
    auto u = sys_error("open /nope", ENOENT);
    EXPECT_EQ(u.value().kind, ErrorKind::NotFound);
    EXPECT_EQ(u.value().code, ENOENT);
    EXPECT_EQ(u.value().where, "open /nope");
    EXPECT_EQ(u.value().to_string(), std::string("open /nope: ") + std::strerror(ENOENT));
}

TEST(SysError, OtherErrnoIsSystem) {
    auto u = sys_error("mmap", ENOMEM);
    EXPECT_EQ(u.value().kind, ErrorKind::System);
    EXPECT_EQ(u.value().code, ENOMEM);
    EXPECT_TRUE(u.value().message.empty());
}

TEST(SysError, DefaultsToErrno) {
    errno = EPERM;
    auto u = sys_error("ioctl");
    EXPECT_EQ(u.value().code, EPERM);
    EXPECT_EQ(u.value().kind, ErrorKind::System);
}

TEST(MakeError, FieldsAndZeroCode) {
    auto u = make_error(ErrorKind::Unsupported, "cpu", "no VMX");
    EXPECT_EQ(u.value().kind, ErrorKind::Unsupported);
    EXPECT_EQ(u.value().code, 0);
    EXPECT_EQ(u.value().where, "cpu");
    EXPECT_EQ(u.value().message, "no VMX");
}

// Helpers exercising TRY in every shape.
Result<int> int_ok(int v) { return v; }
Result<int> int_fail() { return make_error(ErrorKind::BadInput, "inner", "int failed"); }
Result<void> void_ok() { return {}; }
Result<void> void_fail() { return make_error(ErrorKind::GuestFault, "inner", "void failed"); }
Result<std::unique_ptr<int>> move_only(int v) { return std::make_unique<int>(v); }

Result<int> add_two(bool fail_first, bool fail_second) {
    int a = TRY(fail_first ? int_fail() : int_ok(20));
    int b = TRY(fail_second ? int_fail() : int_ok(22));
    return a + b;
}

int g_after_void = 0;
Result<int> through_void(bool fail) {
    g_after_void = 0;
    TRY(fail ? void_fail() : void_ok());
    g_after_void = 1;
    return 7;
}

Result<void> void_through_void(bool fail) {
    TRY(fail ? void_fail() : void_ok());
    TRY(int_ok(1));
    return {};
}

Result<int> unwrap_move_only() {
    auto p = TRY(move_only(99));
    return *p;
}

TEST(Try, YieldsValues) {
    auto r = add_two(false, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 42);
}

TEST(Try, PropagatesFirstError) {
    auto r = add_two(true, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where, "inner");
    EXPECT_EQ(r.error().message, "int failed");
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
}

TEST(Try, PropagatesSecondError) {
    auto r = add_two(false, true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "int failed");
}

TEST(Try, VoidOkContinues) {
    auto r = through_void(false);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 7);
    EXPECT_EQ(g_after_void, 1);
}

TEST(Try, VoidErrorReturnsEarly) {
    auto r = through_void(true);
    ASSERT_FALSE(r);
    EXPECT_EQ(g_after_void, 0);
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
    EXPECT_EQ(r.error().message, "void failed");
}

TEST(Try, VoidInVoidFunction) {
    EXPECT_TRUE(void_through_void(false));
    auto r = void_through_void(true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "void failed");
}

TEST(Try, MoveOnlyValue) {
    auto r = unwrap_move_only();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 99);
}

}  // namespace
}  // namespace lightvm
