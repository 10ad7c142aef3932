// Clone test program (issue 16): what makes two restores of one snapshot
// different. Sleeps SLEEP_MS (the snapshot is taken then), then prints the
// clone generation, 16 bytes of getrandom(), and its own AT_RANDOM bytes;
// then re-executes itself with "child", which prints its AT_RANDOM — a
// process started after the restore, whose AT_RANDOM must differ per clone.
//   entropy SLEEP_MS | entropy child
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void hex(const char* label, const unsigned char* p, size_t n) {
    printf("%s ", label);
    for (size_t i = 0; i < n; ++i)
        printf("%02x", p[i]);
    printf("\n");
}

int main(int argc, char** argv) {
    const unsigned char* at_random = (const unsigned char*)getauxval(AT_RANDOM);
    if (argc == 2 && strcmp(argv[1], "child") == 0) {
        hex("child_at_random", at_random, 16);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: entropy SLEEP_MS\n");
        return 2;
    }
    long ms = atol(argv[1]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    char gen[32] = "?";
    FILE* f = fopen("/sys/devices/virtual/lightvm/generation", "r");
    if (f) {
        if (!fgets(gen, sizeof gen, f))
            strcpy(gen, "?\n");
        fclose(f);
    }
    printf("generation %s", gen);
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return 1;
    hex("getrandom", r, sizeof r);
    hex("at_random", at_random, 16);
    fflush(stdout);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, argv[0], "child", (char*)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
