/* Integer division by zero: divide error, SIGFPE. */
#include <stdio.h>

int main(void) {
    volatile int a = 42, b = 0;
    int c = a / b;
    printf("survived: %d\n", c);
    return 0;
}
