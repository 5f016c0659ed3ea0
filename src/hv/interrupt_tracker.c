// zxhv: pending interrupt vectors.
#include "hv/interrupt_tracker.h"

#include <string.h>
#include <time.h>

void interrupt_tracker_init(struct interrupt_tracker* t) {
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    memset(t->bits, 0, sizeof(t->bits));
    t->wake = false;
    t->waiting = false;
}

void interrupt_tracker_destroy(struct interrupt_tracker* t) {
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
}

bool interrupt_tracker_track(struct interrupt_tracker* t, uint32_t vector, bool* woke_waiter) {
    pthread_mutex_lock(&t->lock);
    bool added = !(t->bits[vector / 64] & (1ull << (vector % 64)));
    t->bits[vector / 64] |= 1ull << (vector % 64);
    if (woke_waiter != NULL) *woke_waiter = t->waiting;
    pthread_mutex_unlock(&t->lock);
    // Signalled after unlocking: a waiter woken while the lock is still held would only block
    // on it again, two more trips through the scheduler. The waiter re-checks under the lock.
    pthread_cond_signal(&t->cond);
    return added;
}

static bool pending_locked(const struct interrupt_tracker* t) {
    for (size_t i = 0; i < INTERRUPT_VECTORS / 64; i++) {
        if (t->bits[i] != 0) return true;
    }
    return false;
}

int interrupt_tracker_pop(struct interrupt_tracker* t) {
    int vector = -1;
    pthread_mutex_lock(&t->lock);
    for (int i = INTERRUPT_VECTORS / 64 - 1; i >= 0; i--) {
        if (t->bits[i] != 0) {
            int bit = 63 - __builtin_clzll(t->bits[i]);
            t->bits[i] &= ~(1ull << bit);
            vector = i * 64 + bit;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return vector;
}

bool interrupt_tracker_pending(struct interrupt_tracker* t) {
    pthread_mutex_lock(&t->lock);
    bool pending = pending_locked(t);
    pthread_mutex_unlock(&t->lock);
    return pending;
}

bool interrupt_tracker_wait(struct interrupt_tracker* t, zx_time_t deadline) {
    struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
    pthread_mutex_lock(&t->lock);
    while (!pending_locked(t) && !t->wake) {
        t->waiting = true;
        if (deadline == ZX_TIME_INFINITE) {
            pthread_cond_wait(&t->cond, &t->lock);
        } else if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) != 0) {
            break;  // timed out
        }
    }
    t->waiting = false;
    t->wake = false;
    bool pending = pending_locked(t);
    pthread_mutex_unlock(&t->lock);
    return pending;
}

void interrupt_tracker_wake(struct interrupt_tracker* t) {
    pthread_mutex_lock(&t->lock);
    t->wake = true;
    pthread_mutex_unlock(&t->lock);
    pthread_cond_signal(&t->cond);
}
