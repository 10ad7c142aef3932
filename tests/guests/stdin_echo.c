/* Copy stdin to stdout with read/write and a 4 KiB buffer; report the
 * byte count on stderr.
 * "stdin_echo isatty": print "isatty <0|1> <0|1> <0|1>" for fds 0-2 instead. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "isatty") == 0) {
        int t0 = isatty(0), t1 = isatty(1), t2 = isatty(2);
        char line[32];
        int n = snprintf(line, sizeof line, "isatty %d %d %d\n", t0, t1, t2);
        write(2, line, (size_t)n);
        return 0;
    }
    char buf[4096];
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            perror("read");
            return 1;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buf + done, (size_t)(n - done));
            if (w <= 0) {
                perror("write");
                return 1;
            }
            done += w;
        }
        total += (unsigned long long)n;
    }
    fprintf(stderr, "bytes=%llu\n", total);
    return 0;
}
