/* Calls lightvm's test-hook system call (guest/kernel/proc/test_hooks.cpp)
   that recurses in the guest kernel until its stack's guard page. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv) {
    /* argv[1] "thread": the overflow happens on a kernel thread's stack. */
    long hook = argc > 1 && argv[1][0] == 't' ? 3 : 1;
    printf("calling the hook\n");
    fflush(stdout);
    long r = syscall(511, hook);
    printf("hook returned %ld errno %d\n", r, errno);
    return 0;
}
