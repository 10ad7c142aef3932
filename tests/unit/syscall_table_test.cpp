// The syscall table (guest/kernel/syscalls/table.def) against its users:
// the strace formatter must name and decode every row, and docs/syscalls.md
// must have exactly one truthful row per table row and nothing else.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/syscalls/table.hpp"
#include "trace/strace.hpp"

namespace {

using lightvm::guest::format_syscall_entry;
using lightvm::guest::syscall_desc;
using lightvm::guest::syscall_format_ok;
using lightvm::guest::syscall_name;
using lightvm::guest::SyscallDesc;
using lightvm::guest::SyscallRecord;

std::vector<const SyscallDesc*> rows() {
    std::vector<const SyscallDesc*> v;
    for (const SyscallDesc& r : lightvm::guest::kSyscallRows)
        v.push_back(&r);
    return v;
}

struct DocRow {
    int line;
    long nr;
    std::string name, status, notes;
};

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The rows of the markdown table whose first cell is a number.
std::vector<DocRow> doc_rows(std::string* error) {
    const std::string path = std::string(LIGHTVM_SOURCE_DIR) + "/docs/syscalls.md";
    std::ifstream in(path);
    if (!in) {
        *error = "cannot read " + path;
        return {};
    }
    std::vector<DocRow> out;
    std::string line;
    for (int no = 1; std::getline(in, line); ++no) {
        if (line.size() < 2 || line[0] != '|')
            continue;
        std::vector<std::string> cells;
        std::stringstream ss(line.substr(1));
        std::string cell;
        while (std::getline(ss, cell, '|'))
            cells.push_back(trim(cell));
        if (cells.empty() || cells[0].empty() || cells[0].find_first_not_of("0123456789") != std::string::npos)
            continue;  // header or separator
        if (cells.size() != 4) {
            *error = path + ":" + std::to_string(no) + ": expected 4 cells (nr, name, status, notes)";
            return {};
        }
        out.push_back({no, std::stol(cells[0]), cells[1], cells[2], cells[3]});
    }
    return out;
}

TEST(SyscallTable, NumbersAndNamesAreUnique) {
    std::set<uint16_t> numbers;
    std::set<std::string> names;
    for (const SyscallDesc* r : rows()) {
        EXPECT_TRUE(numbers.insert(r->nr).second) << "number " << r->nr << " twice";
        EXPECT_TRUE(names.insert(r->name).second) << r->name << " twice";
        EXPECT_EQ(syscall_desc(r->nr), r) << r->name << ": the lookup by number finds another row";
    }
    EXPECT_GT(numbers.size(), 300u);  // 0..335 and 424.. are all named
    EXPECT_EQ(syscall_desc(336), nullptr);
    EXPECT_EQ(syscall_desc(UINT64_MAX), nullptr);
}

TEST(SyscallTable, EveryRowHasAStraceFormat) {
    for (const SyscallDesc* r : rows()) {
        EXPECT_TRUE(syscall_format_ok(r->args, r->result))
            << r->name << ": format \"" << r->args << "\" / '" << r->result << "'";
        ASSERT_NE(syscall_name(r->nr), nullptr) << r->name;
        EXPECT_STREQ(syscall_name(r->nr), r->name);
        // The formatter prints the call by name, not as syscall_NNN(...).
        char line[512];
        SyscallRecord rec{r->nr, {}, 0};
        format_syscall_entry(line, sizeof line, rec, nullptr, nullptr);
        EXPECT_EQ(std::string(line).rfind(std::string(r->name) + "(", 0), 0u) << line;
    }
}

TEST(SyscallTable, FormatCheckRejectsUnknownLetters) {
    EXPECT_TRUE(syscall_format_ok("fBu", 'd'));
    EXPECT_TRUE(syscall_format_ok("", '?'));
    EXPECT_FALSE(syscall_format_ok("fZu", 'd'));
    EXPECT_FALSE(syscall_format_ok("fBu", 'q'));
    EXPECT_FALSE(syscall_format_ok("xxxxxxx", 'd'));  // seven registers
}

TEST(SyscallDocs, OneTruthfulRowPerSyscall) {
    std::string error;
    std::vector<DocRow> docs = doc_rows(&error);
    ASSERT_TRUE(error.empty()) << error;
    std::map<std::string, const DocRow*> by_name;
    for (const DocRow& d : docs)
        EXPECT_TRUE(by_name.emplace(d.name, &d).second) << "docs/syscalls.md:" << d.line << ": " << d.name << " twice";
    for (const SyscallDesc* r : rows()) {
        auto it = by_name.find(r->name);
        if (it == by_name.end()) {
            ADD_FAILURE() << "docs/syscalls.md has no row for " << r->name << " (" << r->nr << ")";
            continue;
        }
        const DocRow& d = *it->second;
        EXPECT_EQ(d.nr, r->nr) << "docs/syscalls.md:" << d.line << ": " << d.name;
        if (r->implemented) {
            EXPECT_TRUE(d.status == "implemented" || d.status == "partial")
                << "docs/syscalls.md:" << d.line << ": " << d.name << " has a handler but says " << d.status;
        } else {
            EXPECT_EQ(d.status, "ENOSYS") << "docs/syscalls.md:" << d.line << ": " << d.name << " has no handler";
        }
    }
}

TEST(SyscallDocs, NamesOnlyKnownSyscalls) {
    std::string error;
    std::vector<DocRow> docs = doc_rows(&error);
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_FALSE(docs.empty());
    long prev = -1;
    for (const DocRow& d : docs) {
        const SyscallDesc* r = d.nr >= 0 ? syscall_desc(static_cast<uint64_t>(d.nr)) : nullptr;
        EXPECT_TRUE(r && d.name == r->name)
            << "docs/syscalls.md:" << d.line << ": " << d.nr << " " << d.name << " is not in table.def";
        EXPECT_GT(d.nr, prev) << "docs/syscalls.md:" << d.line << ": rows out of number order";
        prev = d.nr;
    }
}

}  // namespace
