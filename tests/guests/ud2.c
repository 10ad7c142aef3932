/* Executes ud2: invalid opcode, SIGILL. */
#include <stdio.h>

int main(void) {
    __builtin_trap();
    printf("survived\n");
    return 0;
}
