/* abort(): SIGABRT, status 134. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    fflush(stdout);
    abort();
}
