// The wait-queue objects alone, for structures that embed a queue
// (task.hpp) without the scheduler's declarations (wait.hpp has the API).
#pragma once

namespace lightvm::guest {

struct Task;
struct WaitQueue;

struct WaitEntry;
using WakeFn = void (*)(WaitEntry* e);

struct WaitEntry {
    Task* task;
    WaitQueue* queue;
    WaitEntry* next;
    WakeFn wake;  // null: make `task` runnable
};

struct WaitQueue {
    WaitEntry* head;
};

}  // namespace lightvm::guest
