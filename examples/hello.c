/* The example the README boots: an ordinary static C program. */
#include <stdio.h>
#include <sys/utsname.h>

int main(int argc, char** argv) {
    struct utsname u;
    uname(&u);
    printf("Hello from %s, running in its own micro-VM (%s %s)", argv[0], u.sysname, u.release);
    for (int i = 1; i < argc; ++i)
        printf(" %s", argv[i]);
    printf("\n");
    return 0;
}
