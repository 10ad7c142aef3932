/* Writes argv[2] to the file argv[1] with plain write() (no fsync), then
 * crashes (argv[3]: "segv", "abort", "spin" for a timeout, or "avx": a
 * 32-byte store to RAM never handed out, which KVM cannot emulate). The data must
 * reach the host anyway, as it would survive a process crash on Linux. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 4)
        return 2;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 3;
    if (write(fd, argv[2], strlen(argv[2])) != (ssize_t)strlen(argv[2]))
        return 4;
    if (strcmp(argv[3], "close-then-segv") == 0)
        close(fd);
    if (strcmp(argv[3], "abort") == 0)
        abort();
    if (strcmp(argv[3], "avx") == 0)
        __asm__ volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\tvmovdqu %%ymm0, (%0)"
                         : : "r"(128ul << 20) : "memory", "xmm0");
    if (strcmp(argv[3], "spin") == 0)
        for (;;) {
        }
    return *(volatile int*)0;
}
