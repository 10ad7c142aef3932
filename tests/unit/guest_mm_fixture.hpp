// Hosted set-up for the guest kernel's memory manager: a host buffer plays
// guest RAM (the physmap points at it), frames and page tables live in it,
// and the current task gets an empty address space. The CR3 load and the
// file layer are stubbed here and counted.
#pragma once

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest::testing {

// What the stubs saw.
struct MmStubs {
    int root_loads = 0;
    int pages_flushed = 0;
    uint64_t loaded_root = 0;
    std::vector<uint8_t> file;  // contents of the one fake file
    int file_refs = 0;
    uint64_t released = 0;      // bytes given back to the "host" (kHcMemRelease)
};
MmStubs& mm_stubs();

class GuestMm {
public:
    static constexpr uint64_t kRam = 64ull << 20;
    static constexpr uint64_t kPoolStart = 4ull << 20;

    GuestMm() {
        void* p = ::mmap(nullptr, kRam, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        m_ram = static_cast<uint8_t*>(p);
        g_physmap = reinterpret_cast<uint64_t>(m_ram);
        g_physmap_size = kRam;
        memory_set_backed(~0ull, ~0ull);
        frames_init(kPoolStart, kRam);
        pt_tables_forget();
        mm_stubs() = MmStubs{};
        m_as = new AddressSpace;
        as_init(*m_as, frame_alloc(0));
        m_as->mmap_top = 0x7f0000000000ull;
        m_as->brk_start = m_as->brk = 0x10000000ull;
        mm_stubs().loaded_root = m_as->root;
        m_process.mm = m_as;
        m_task.process = &m_process;
        m_saved = this_cpu().current;
        this_cpu().current = &m_task;
    }
    ~GuestMm() {
        this_cpu().current = m_saved;
        delete m_as;
        ::munmap(m_ram, kRam);
    }
    AddressSpace& as() { return *m_as; }

private:
    uint8_t* m_ram = nullptr;
    AddressSpace* m_as = nullptr;
    Process m_process{};
    Task m_task{};
    Task* m_saved = nullptr;
};

}  // namespace lightvm::guest::testing
