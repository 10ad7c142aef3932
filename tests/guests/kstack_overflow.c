/* Calls lightvm's test-hook system call (guest/kernel/proc/test_hooks.cpp)
   that recurses in the guest kernel until its stack's guard page. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("calling the hook\n");
    fflush(stdout);
    long r = syscall(511, 1);
    printf("hook returned %ld errno %d\n", r, errno);
    return 0;
}
