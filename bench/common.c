// zxhv bench: time, samples, the guest image and the process census (bench.h).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "report.h"

// ---- time

static double ticks_per_ns = 1.0;
static uint64_t calibration_ticks, calibration_ns;

uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ticks_calibrate(int ms) {
    uint64_t n0 = monotonic_ns(), t0 = ticks();
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    uint64_t n1 = monotonic_ns(), t1 = ticks();
    calibration_ticks += t1 - t0;
    calibration_ns += n1 - n0;
    ticks_per_ns = (double)calibration_ticks / (double)calibration_ns;
    CHECK(ticks_per_ns > 0.01, "the TSC does not advance (%f ticks/ns)", ticks_per_ns);
}

double ticks_to_ns(double t) {
    return t / ticks_per_ns;
}

double ticks_rate_ghz(void) {
    return ticks_per_ns;
}

// ---- failures

void bench_fail(const char* file, int line, const char* what, const char* fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "bench: %s:%d: %s failed: ", file, line, what);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

// ---- samples

static struct samples samples[ROW_COUNT][2];

void row_add(enum row_id row, enum side side, double value) {
    struct samples* s = &samples[row][side];
    if (s->count == s->capacity) {
        s->capacity = s->capacity ? s->capacity * 2 : 256;
        s->values = realloc(s->values, s->capacity * sizeof(double));
        CHECK(s->values != NULL, "realloc");
    }
    s->values[s->count++] = value;
}

const struct samples* row_samples(enum row_id row, enum side side) {
    return &samples[row][side];
}

// ---- the guest image

const void* guest_tables(void) {
    static uint64_t tables[3][512];
    if (tables[0][0] == 0) {
        for (uint64_t i = 0; i < 512; i++) tables[2][i] = (i << 21) | 0x83;  // P | W | PS
        tables[1][0] = 0x2000 | 3;
        tables[0][0] = 0x1000 | 3;
    }
    return tables;
}

// ---- census

static int count_dir(const char* path) {
    DIR* d = opendir(path);
    CHECK(d != NULL, "opendir %s: %s", path, strerror(errno));
    int n = 0;
    for (struct dirent* e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool is_guest_ram(uintptr_t start, const char* name, const uint8_t* const* ram, int n,
                         size_t ram_size) {
    if (strstr(name, "zxhv-vmo") != NULL) return true;
    for (int i = 0; i < n; i++) {
        uintptr_t base = (uintptr_t)ram[i];
        if (start >= base && start < base + ram_size) return true;
    }
    return false;
}

struct census census_take(const uint8_t* const* ram, int n, size_t ram_size) {
    struct census c = {0};
    FILE* f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL, "/proc/self/smaps: %s", strerror(errno));
    char line[512];
    bool in_ram = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long start, end;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &start, &end, &name_at) == 2 &&
            name_at > 0) {
            in_ram = is_guest_ram(start, line + name_at, ram, n, ram_size);
            continue;
        }
        long kib;
        if (sscanf(line, "Rss: %ld kB", &kib) == 1) {
            c.rss_kib += kib;
            if (in_ram) c.guest_ram_kib += kib;
        }
    }
    fclose(f);
    c.fds = count_dir("/proc/self/fd") - 1;  // the directory's own descriptor
    c.threads = count_dir("/proc/self/task");
    return c;
}
