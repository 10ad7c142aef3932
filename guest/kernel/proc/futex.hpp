// Futexes (man 2 futex): a task sleeps until another wakes the same user
// word. Keys: a private mapping's word is (address space, address), a
// MAP_SHARED one is its guest-physical address (so processes sharing the
// memory meet on it), as Linux keys by mm or by inode and offset.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// Wakes up to n waiters on the word at uaddr of the current address space
// (any bitset); returns how many. Thread exit's CLONE_CHILD_CLEARTID wake.
long futex_wake(uint64_t uaddr, uint32_t n);

struct Task;
// A thread is exiting: every robust mutex it still holds (its
// set_robust_list list) is marked FUTEX_OWNER_DIED and a waiter woken.
void futex_exit_robust(Task* t);

}  // namespace lightvm::guest
