/* /proc and /sys files programs read to learn about the machine. Prints
 * "ok" lines that are the same natively and in lightvm (the test compares
 * them with a native run); "show" prints the values themselves for the
 * guest test to check against the VM's configuration. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static size_t slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

/* "0", "0-3", "0,2-5": how many CPUs the list names. */
static long count_cpus(const char *s) {
    long total = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        total += b - a + 1;
        s = *end == ',' ? end + 1 : end;
    }
    return total;
}

static long meminfo_kb(const char *text, const char *field) {
    const char *p = strstr(text, field);
    return p ? atol(p + strlen(field) + 1) : -1;
}

static char buf[1 << 16];

int main(int argc, char **argv) {
    int show = argc > 1 && strcmp(argv[1], "show") == 0, bad = 0;

    if (!slurp("/sys/devices/system/cpu/online", buf, sizeof buf)) {
        printf("online: missing\n");
        return 1;
    }
    long online = count_cpus(buf);
    slurp("/sys/devices/system/cpu/possible", buf, sizeof buf);
    long possible = count_cpus(buf);
    if (online == get_nprocs() && online == sysconf(_SC_NPROCESSORS_ONLN) && possible >= online &&
        possible == get_nprocs_conf())
        printf("cpus: ok\n");
    else {
        printf("cpus: BAD online %ld possible %ld nprocs %d conf %d\n", online, possible, get_nprocs(), get_nprocs_conf());
        bad++;
    }

    size_t n = slurp("/proc/cpuinfo", buf, sizeof buf);
    long processors = 0;
    for (const char *p = buf; (p = strstr(p, "processor\t: ")) != NULL; p++)
        processors++;
    const char *need[] = {"vendor_id\t: ", "cpu family\t: ", "model\t\t: ", "model name\t: ", "flags\t\t:",
                          "address sizes\t: "};
    int fields = 1;
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        fields &= strstr(buf, need[i]) != NULL;
    /* It shows CPUID as this program sees it. */
    unsigned a, b, c, d;
    char line[64];
    __cpuid(0, a, b, c, d);
    snprintf(line, sizeof line, "vendor_id\t: %.4s%.4s%.4s\n", (char *)&b, (char *)&d, (char *)&c);
    fields &= strstr(buf, line) != NULL;
    snprintf(line, sizeof line, "cpuid level\t: %u\n", a);
    fields &= strstr(buf, line) != NULL;
    __cpuid(1, a, b, c, d);
    fields &= (strstr(buf, " sse2") != NULL) == ((d >> 26) & 1);
    fields &= (strstr(buf, " fpu") != NULL) == (d & 1);
    if (n > 0 && processors == online && fields)
        printf("cpuinfo: ok\n");
    else {
        printf("cpuinfo: BAD (%zu bytes, %ld processors)\n", n, processors);
        bad++;
    }
    if (show) {
        char *flags = strstr(buf, "flags\t\t: "), *eol = flags ? strchr(flags, '\n') : NULL;
        if (eol)
            *eol = 0;
        printf("show flags %s\n", flags ? flags + 9 : "");
        if (eol)
            *eol = '\n';
        char *vendor = strstr(buf, "vendor_id\t: "), *vend = vendor ? strchr(vendor, '\n') : NULL;
        if (vend)
            printf("show vendor %.*s\n", (int)(vend - vendor - 12), vendor + 12);
    }

    slurp("/proc/meminfo", buf, sizeof buf);
    struct sysinfo si;
    sysinfo(&si);
    long total = meminfo_kb(buf, "MemTotal:"), avail = meminfo_kb(buf, "MemAvailable:"),
         free_kb = meminfo_kb(buf, "MemFree:");
    if (total == (long)(si.totalram * si.mem_unit / 1024) && free_kb >= 0 && free_kb <= total && avail >= 0 &&
        avail <= total && meminfo_kb(buf, "SwapTotal:") >= 0)
        printf("meminfo: ok\n");
    else {
        printf("meminfo: BAD total %ld free %ld avail %ld sysinfo %lu\n", total, free_kb, avail,
               (unsigned long)si.totalram);
        bad++;
    }

    FILE *f = fopen("/proc/self/auxv", "rb");
    uint64_t pairs[256][2];
    size_t np = f ? fread(pairs, 16, 256, f) : 0;
    if (f)
        fclose(f);
    int aux_ok = np > 0 && pairs[np - 1][0] == AT_NULL;
    unsigned long want[] = {AT_PAGESZ, AT_ENTRY, AT_PHDR, AT_RANDOM, AT_SYSINFO_EHDR, AT_EXECFN};
    for (size_t w = 0; w < sizeof want / sizeof *want; w++) {
        int found = 0;
        for (size_t i = 0; i < np; i++)
            if (pairs[i][0] == want[w]) {
                found = 1;
                aux_ok &= pairs[i][1] == getauxval(want[w]);
            }
        aux_ok &= found;
    }
    if (aux_ok)
        printf("auxv: ok\n");
    else {
        printf("auxv: BAD (%zu pairs)\n", np);
        bad++;
    }
    if (show)
        printf("show online %ld possible %ld memtotal_kb %ld\n", online, possible, total);
    return bad ? 1 : 0;
}
