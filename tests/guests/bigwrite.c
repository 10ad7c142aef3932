/* 8 MiB on stdout: 4 MiB in 1 MiB writes (the direct-write hypercall),
 * then 4 MiB in 100-byte writes (the console ring). Byte i of the stream
 * is i % 251.
 * "bigwrite mixed": interleaves small and big (direct) writes on stdout and
 * stderr, so a host capturing both in one file can check the order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOTAL (8u << 20)
#define BIGCHUNK (1u << 20)

static int write_all_fd(int fd, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int mixed(void) {
    static char big[100000];
    char line[64];
    for (int i = 0; i < 40; i++) {
        int fd = i % 2 ? 2 : 1;
        int n = snprintf(line, sizeof line, "%s %d\n", fd == 1 ? "out" : "err", i);
        if (write_all_fd(fd, line, (size_t)n) < 0)
            return 1;
        if (i % 10 == 9) {
            memset(big, 'A' + i / 10, sizeof big - 1);
            big[sizeof big - 1] = '\n';
            if (write_all_fd(fd, big, sizeof big) < 0)
                return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "mixed") == 0)
        return mixed();
    unsigned char *buf = malloc(TOTAL);
    if (!buf)
        return 2;
    for (size_t i = 0; i < TOTAL; i++)
        buf[i] = (unsigned char)(i % 251);
    size_t off = 0;
    while (off < TOTAL / 2) {
        if (write_all_fd(1, buf + off, BIGCHUNK) < 0)
            return 1;
        off += BIGCHUNK;
    }
    while (off < TOTAL) {
        size_t n = TOTAL - off < 100 ? TOTAL - off : 100;
        if (write_all_fd(1, buf + off, n) < 0)
            return 1;
        off += n;
    }
    free(buf);
    return 0;
}
