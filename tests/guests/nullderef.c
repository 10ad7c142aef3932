/* Reads address 0: a page fault, SIGSEGV. */
#include <stdio.h>

int main(void) {
    volatile int *p = (volatile int *)0;
    int v = *p;
    printf("survived: %d\n", v);
    return 0;
}
