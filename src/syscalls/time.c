// zxhv: zx_clock_get_monotonic, zx_deadline_after, zx_nanosleep. Time is CLOCK_MONOTONIC in ns.
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "syscalls/priv.h"

ZX_SYSCALL zx_time_t zx_clock_get_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (zx_time_t)ts.tv_sec * ZX_SEC(1) + ts.tv_nsec;
}

// Saturates as Zircon's zx_time_add_duration does.
ZX_SYSCALL zx_time_t zx_deadline_after(zx_duration_t nanoseconds) {
    zx_time_t now = zx_clock_get_monotonic();
    zx_time_t deadline;
    if (__builtin_add_overflow(now, nanoseconds, &deadline)) {
        return nanoseconds > 0 ? ZX_TIME_INFINITE : ZX_TIME_INFINITE_PAST;
    }
    return deadline;
}

ZX_SYSCALL zx_status_t zx_nanosleep(zx_time_t deadline) {
    if (deadline <= 0) {
        sched_yield();
        return ZX_OK;
    }
    struct timespec ts = {.tv_sec = deadline / ZX_SEC(1), .tv_nsec = deadline % ZX_SEC(1)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    return ZX_OK;
}
