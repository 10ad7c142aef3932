#include <stdio.h>
int main(void) {
    printf("Hello from a lightvm guest!\n");
    return 0;
}
