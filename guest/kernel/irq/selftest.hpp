// Interrupt test hooks (guest tests, bench/): see selftest.cpp.
#pragma once

namespace lightvm::guest::irq {

void selftest_init();

}  // namespace lightvm::guest::irq
