// libFuzzer target: the ELF loader and the initial-stack builder. The
// executable comes from the user, so every byte is untrusted: parse it,
// check it against the guest layout, load its segments into a buffer and
// build a stack from argv/env taken from the input too.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "loader/elf.hpp"
#include "loader/initial_stack.hpp"
#include "memory/guest_memory.hpp"
#include "monitor/layout.hpp"

using namespace lightvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> file(data, size);
    auto image = loader::parse_elf(file, 0x400000);
    if (image) {
        // Load into a small destination: out-of-range segments must fail cleanly.
        std::vector<uint8_t> dest(1 << 20);
        (void)loader::load_segments(*image, file, dest, image->image_start);
    }
    (void)check_app(file, 64ull << 20, "fuzz");

    // Strings for argv/envp from the tail of the input.
    loader::StackSpec spec;
    spec.stack_top = 64ull << 20;
    std::string cur;
    for (size_t i = size > 256 ? size - 256 : 0; i < size; ++i) {
        if (data[i] == 0) {
            (spec.argv.size() <= spec.envp.size() ? spec.argv : spec.envp).push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    spec.execfn = cur;
    spec.auxv = {{6, 4096}, {9, image ? image->entry : 0}};
    spec.max_size = 4096 + size;
    auto stack = loader::build_initial_stack(spec);
    if (stack && (stack->sp % 16 != 0 || stack->sp != spec.stack_top - stack->bytes.size()))
        __builtin_trap();  // the documented invariants
    return 0;
}
