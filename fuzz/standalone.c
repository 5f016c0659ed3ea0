// zxhv fuzzers without libFuzzer: replays files (or every file of a directory) and then runs
// inputs from a fixed-seed generator, so `make test` can run each fuzzer briefly with gcc and
// the sanitizers, and long campaigns can run where libFuzzer's own work costs too much (the
// nested VM). Usage:
//   PROG [--seed N] [--skip N] [--runs N] [--max-len N] [--time SECONDS] [FILE|DIR]...
// It stops after --runs generated inputs (after skipping the first --skip of them) or --time
// seconds, whichever comes first, prints "N inputs (M from files) in S s", and exits 0. A finding
// aborts (fuzz_common.c); the input is then saved as crash-<seed>-<index> in the current
// directory (or $ZXHV_FUZZ_ARTIFACTS), to be replayed by passing the file.
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t from_files;

// The generated input being run, for the SIGABRT handler.
static const uint8_t* current;
static size_t current_len;
static uint64_t current_seed, current_index;

static void save_input(int sig) {
    if (current != NULL) {
        char path[4096];
        const char* dir = getenv("ZXHV_FUZZ_ARTIFACTS");
        snprintf(path, sizeof(path), "%s/crash-%llu-%llu", dir ? dir : ".",
                 (unsigned long long)current_seed, (unsigned long long)current_index);
        FILE* f = fopen(path, "wb");
        if (f != NULL) {
            fwrite(current, 1, current_len, f);
            fclose(f);
            fprintf(stderr, "input %llu of seed %llu saved as %s\n",
                    (unsigned long long)current_index, (unsigned long long)current_seed, path);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run_file(const char* path) {
    FILE* f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    from_files++;
}

static void run_path(const char* path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "cannot stat %s\n", path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    struct dirent** names;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char full[4096];
            snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
            run_file(full);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char** argv) {
    uint64_t seed = 1, runs = 1000, skip = 0;
    size_t max_len = 512;
    double limit = 60;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc) break;
        if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--runs") == 0) runs = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--skip") == 0) skip = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--max-len") == 0) max_len = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--time") == 0) limit = atof(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    // ZXHV_FUZZ_VERBOSE=1 names each generated input before it runs: when a run takes down more
    // than the process (the nested VM), the last name is the input to replay with --skip.
    bool verbose = getenv("ZXHV_FUZZ_VERBOSE") != NULL;
    double start = now_s();
    for (; i < argc; i++) run_path(argv[i]);
    uint8_t* buf = malloc(max_len + 1);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    uint64_t done = 0;
    signal(SIGABRT, save_input);
    current_seed = seed;
    for (uint64_t index = 0; done < runs && now_s() - start < limit; index++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = (size_t)(x % (max_len + 1));
        for (size_t j = 0; j < len; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[j] = (uint8_t)(x >> 32);
        }
        if (index < skip) continue;
        current = buf, current_len = len, current_index = index;
        if (verbose) fprintf(stderr, "input %llu\n", (unsigned long long)index);
        LLVMFuzzerTestOneInput(buf, len);
        if (++done % 10000 == 0)  // progress for long campaigns; smoke runs stay quiet
            fprintf(stderr, "%llu inputs in %.0f s\n", (unsigned long long)done, now_s() - start);
    }
    current = NULL;
    free(buf);
    printf("%llu inputs (%zu from files) in %.1f s\n", (unsigned long long)(done + from_files),
           from_files, now_s() - start);
    return 0;
}
