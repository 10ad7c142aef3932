// "Snapshot me here" (tests/guest/snapshot_test.cpp, ReadyMark): builds some
// state, marks its ready point, then answers one line of stdin with that
// state, the clone generation and a fresh random number. Natively there is
// no mark: it says so on stderr and goes on.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static void read_generation(char* out, size_t cap) {
    snprintf(out, cap, "none");
    int fd = open("/sys/devices/virtual/lightvm/generation", O_RDONLY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, cap - 1);
    out[n > 0 ? n : 0] = 0;
    out[strcspn(out, "\n")] = 0;
    close(fd);
}

int main(void) {
    long* table = malloc(1000 * sizeof *table);
    long sum = 0;
    for (long i = 1; i <= 1000; ++i)
        sum += table[i - 1] = i * i;
    int fd = open("/sys/devices/virtual/lightvm/ready", O_WRONLY);
    if (fd < 0) {
        fprintf(stderr, "no ready mark: %s\n", strerror(errno));
    } else {
        if (write(fd, "1\n", 2) != 2)
            perror("write ready");
        close(fd);
    }
    char gen[32], line[256];
    read_generation(gen, sizeof gen);
    if (!fgets(line, sizeof line, stdin))
        strcpy(line, "(eof)\n");
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        perror("getrandom");
    printf("sum %ld table %ld gen %s line %s", sum, table[999], gen, line);
    printf("random %08x\n", r);
    return 0;
}
