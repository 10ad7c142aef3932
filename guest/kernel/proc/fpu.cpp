#include "kernel/proc/fpu.hpp"

#include "kernel/kernel.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest {

namespace {

alignas(64) uint8_t g_probe[kFpuStateSize];
alignas(64) uint8_t g_init[kFpuStateSize];
uint32_t g_mxcsr_mask;

void fx_save(uint8_t* p) { asm volatile("fxsave64 %0" : "=m"(*reinterpret_cast<uint8_t(*)[kFpuStateSize]>(p))); }
void fx_restore(const uint8_t* p) {
    asm volatile("fxrstor64 %0" : : "m"(*reinterpret_cast<const uint8_t(*)[kFpuStateSize]>(p)));
}

void setup_once() {
    if (g_mxcsr_mask)
        return;
    fx_save(g_probe);
    uint32_t mask;
    memcpy(&mask, g_probe + 28, 4);
    g_mxcsr_mask = mask ? mask : 0xffbf;  // 0: the architectural default
    memset(g_init, 0, sizeof g_init);
    const uint16_t fcw = 0x37f;
    const uint32_t mxcsr = 0x1f80;
    memcpy(g_init, &fcw, 2);
    memcpy(g_init + 24, &mxcsr, 4);
}

}  // namespace

void fpu_init() { setup_once(); }

void fpu_switch(Task* prev, Task* next) {
    setup_once();
    if (prev->user) {
        fx_save(prev->fpu);
        prev->fpu_valid = true;
    }
    if (next->user && next->fpu_valid)
        fx_restore(next->fpu);
}

void fpu_fork(Task* child) {
    fx_save(child->fpu);  // the parent's state now, in the middle of fork
    child->fpu_valid = true;
}

void fpu_exec() {
    setup_once();
    fx_restore(g_init);
}

void fpu_save(uint8_t* buf) { fx_save(buf); }
void fpu_load(const uint8_t* buf) { fx_restore(buf); }

void fpu_load_init() {
    setup_once();
    fx_restore(g_init);
}

uint32_t fpu_mxcsr_mask() {
    setup_once();
    return g_mxcsr_mask;
}

}  // namespace lightvm::guest
