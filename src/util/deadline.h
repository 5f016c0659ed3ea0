// zxhv: absolute deadlines for the pthread timed waits.
#ifndef ZXHV_UTIL_DEADLINE_H_
#define ZXHV_UTIL_DEADLINE_H_

#include <time.h>

// The time |ms| milliseconds from now on |clock|, for pthread_cond_timedwait and friends.
static inline struct timespec deadline_after_ms(clockid_t clock, long ms) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif  // ZXHV_UTIL_DEADLINE_H_
