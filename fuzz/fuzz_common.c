// zxhv fuzzers: shared support (see fuzz_common.h).
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zircon/errors.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zxhv.h>

// Bit -status of allowed[call] is set for each documented status (all are in [-127, 0]).
struct status_set {
    uint64_t bits[2];
};

static const char* const kNames[CALL_COUNT] = {
#define ALLOWED(name, ...) #name,
#include "allowed_gen.h"
#undef ALLOWED
};

static struct status_set make_set(const zx_status_t* codes, size_t n) {
    struct status_set s = {{0, 0}};
    for (size_t i = 0; i < n; i++) {
        unsigned bit = (unsigned)-codes[i];
        if (bit < 128) s.bits[bit / 64] |= 1ull << (bit % 64);
    }
    return s;
}

static struct status_set allowed[CALL_COUNT];
static pthread_once_t allowed_once = PTHREAD_ONCE_INIT;

static void init_allowed(void) {
#define ALLOWED(name, ...)                                                             \
    {                                                                                  \
        static const zx_status_t codes[] = {__VA_ARGS__};                              \
        allowed[CALL_##name] = make_set(codes, sizeof(codes) / sizeof(codes[0]));      \
    }
#include "allowed_gen.h"
#undef ALLOWED
}

const char* fuzz_call_name(enum fuzz_call call) {
    return call < CALL_COUNT ? kNames[call] : "?";
}

bool fuzz_status_allowed(enum fuzz_call call, zx_status_t status) {
    pthread_once(&allowed_once, init_allowed);
    if (status > 0 || status < -127 || call >= CALL_COUNT) return false;
    unsigned bit = (unsigned)-status;
    return (allowed[call].bits[bit / 64] >> (bit % 64)) & 1u;
}

void fuzz_fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "==FINDING== ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    abort();
}

zx_status_t fuzz_check(enum fuzz_call call, zx_status_t status) {
    if (!fuzz_status_allowed(call, status)) {
        fuzz_fail("%s returned %s (%d), which docs/syscalls/%s.md does not list",
                  fuzz_call_name(call), zx_status_get_string(status), status,
                  fuzz_call_name(call));
    }
    return status;
}

// Counts only the kinds of descriptor the library opens (memfds for VMOs, KVM's VM and VCPU
// descriptors and eventfds, /dev/kvm, the fallback copy pipe is never needed here): the
// sanitizers' symbolizer opens pipes of its own while libFuzzer reports new coverage.
int fuzz_fd_count(void) {
    DIR* d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char link[300], target[256];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        if (strncmp(target, "/memfd:", 7) == 0 || strncmp(target, "anon_inode:", 11) == 0 ||
            strcmp(target, "/dev/kvm") == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

int fuzz_vmo_mapping_count(void) {
    FILE* f = fopen("/proc/self/maps", "r");
    if (f == NULL) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "zxhv-vmo") != NULL) n++;
    }
    fclose(f);
    return n;
}

int64_t fuzz_time_scale(void) {
    static int64_t scale = 0;
    if (scale == 0) {
        const char* s = getenv("ZXHV_FUZZ_TIME_SCALE");
        scale = (s != NULL && atoll(s) > 0) ? atoll(s) : 1;
    }
    return scale;
}

// Prints every thread's kernel stack and system call, and (with gdb installed) user stacks: what
// a stuck VCPU's thread was doing.
static void dump_threads(void) {
    DIR* d = opendir("/proc/self/task");
    if (d != NULL) {
        struct dirent* e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            static const char* const kFiles[] = {"comm", "wchan", "syscall", "stack"};
            fprintf(stderr, "-- thread %s\n", e->d_name);
            for (size_t i = 0; i < 4; i++) {
                char path[512], text[4096];
                snprintf(path, sizeof(path), "/proc/self/task/%s/%s", e->d_name, kFiles[i]);
                FILE* f = fopen(path, "r");
                if (f == NULL) continue;
                size_t n = fread(text, 1, sizeof(text) - 1, f);
                text[n] = '\0';
                fclose(f);
                fprintf(stderr, "%s: %s%s", kFiles[i], text, n && text[n - 1] == '\n' ? "" : "\n");
            }
        }
        closedir(d);
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "command -v gdb >/dev/null && gdb -p %d -batch -ex 'thread apply all bt' 2>&1 | "
             "grep -E '^(#|Thread)' >&2",
             (int)getpid());
    if (system(cmd) != 0) fprintf(stderr, "(no gdb backtrace)\n");
}

// ---- The watchdog. One thread for the process; |lock| guards every field.

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static zx_handle_t watch_vcpu;
static zx_time_t watch_kick_at;   // ZX_TIME_INFINITE when no resume is being watched
static zx_time_t watch_stuck_after;
static zx_time_t watch_kicked_at;  // 0 unless this resume was kicked
// One-second waits since the kick: the stuck limit counts these, so that a jump of the clock
// (seen in the nested VM under load) cannot pass for a stuck VCPU.
static int64_t watch_steps;
static uint64_t kicks;
static zx_duration_t worst_latency;
static zx_duration_t total_latency;

static void* watch_thread(void* arg) {
    (void)arg;
    pthread_mutex_lock(&watch_lock);
    for (;;) {
        zx_time_t now = zx_clock_get_monotonic();
        zx_time_t wake = ZX_TIME_INFINITE;
        if (watch_kick_at != ZX_TIME_INFINITE) {
            if (watch_kicked_at == 0 && now >= watch_kick_at) {
                // The handle the fuzzer resumes need not be a VCPU it may kick (the resume then
                // returns at once, but may be slow to under load): any documented status will do.
                fuzz_check(CALL_vcpu_kick, zx_vcpu_kick(watch_vcpu));
                watch_kicked_at = now;
                watch_steps = 0;
                kicks++;
            }
            if (watch_kicked_at != 0) {
                if (watch_steps * ZX_SEC(1) > watch_stuck_after) {
                    pthread_mutex_unlock(&watch_lock);
                    dump_threads();
                    fuzz_fail("watchdog: the VCPU was kicked %lld one-second waits (%.3f s by "
                              "the clock) ago and its resume has not returned (stuck)",
                              (long long)watch_steps, (double)(now - watch_kicked_at) / 1e9);
                }
                watch_steps++;
                wake = now + ZX_SEC(1);
            } else {
                wake = watch_kick_at;
            }
        }
        struct timespec ts;
        if (wake == ZX_TIME_INFINITE) {
            pthread_cond_wait(&watch_cond, &watch_lock);
        } else {
            ts.tv_sec = wake / 1000000000;
            ts.tv_nsec = wake % 1000000000;
            pthread_cond_timedwait(&watch_cond, &watch_lock, &ts);
        }
    }
    return NULL;
}

static void watch_start(void) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&watch_cond, &attr);
    pthread_condattr_destroy(&attr);
    watch_kick_at = ZX_TIME_INFINITE;
    pthread_t t;
    if (pthread_create(&t, NULL, watch_thread, NULL) != 0) fuzz_fail("cannot start the watchdog");
    pthread_detach(t);
}

void fuzz_watch_begin(zx_handle_t vcpu, zx_duration_t budget_ns, zx_duration_t stuck_ns) {
    pthread_once(&watch_once, watch_start);
    pthread_mutex_lock(&watch_lock);
    watch_vcpu = vcpu;
    watch_kick_at = zx_clock_get_monotonic() + budget_ns;
    watch_stuck_after = stuck_ns;
    watch_kicked_at = 0;
    pthread_cond_signal(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
}

bool fuzz_watch_end(void) {
    pthread_mutex_lock(&watch_lock);
    bool kicked = watch_kicked_at != 0;
    if (kicked) {
        zx_duration_t latency = zx_clock_get_monotonic() - watch_kicked_at;
        if (latency > worst_latency) worst_latency = latency;
        total_latency += latency;
    }
    watch_kick_at = ZX_TIME_INFINITE;
    watch_kicked_at = 0;
    pthread_mutex_unlock(&watch_lock);
    return kicked;
}

uint64_t fuzz_watch_kicks(void) {
    pthread_mutex_lock(&watch_lock);
    uint64_t n = kicks;
    pthread_mutex_unlock(&watch_lock);
    return n;
}

zx_duration_t fuzz_watch_mean_kick_latency(void) {
    pthread_mutex_lock(&watch_lock);
    zx_duration_t n = kicks ? total_latency / (zx_duration_t)kicks : 0;
    pthread_mutex_unlock(&watch_lock);
    return n;
}

zx_duration_t fuzz_watch_worst_kick_latency(void) {
    pthread_mutex_lock(&watch_lock);
    zx_duration_t n = worst_latency;
    pthread_mutex_unlock(&watch_lock);
    return n;
}

void fuzz_print_fds(void) {
    DIR* d = opendir("/proc/self/fd");
    if (d == NULL) return;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char link[300], target[256];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n < 0) n = 0;
        target[n] = '\0';
        fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
    }
    closedir(d);
}
