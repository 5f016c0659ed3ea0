// zxhv: the pending-vector set of one VCPU (Zircon's InterruptTracker<256>, spec §3.7): vectors
// are popped highest first; a VCPU halted in HLT sleeps on it until a vector is pending or it is
// kicked.
#ifndef ZXHV_HV_INTERRUPT_TRACKER_H_
#define ZXHV_HV_INTERRUPT_TRACKER_H_

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zircon/types.h>

#define INTERRUPT_VECTORS 256u

struct interrupt_tracker {
    // Guards |bits|, |wake| and |waiting|; |cond| is signalled when |bits| or |wake| changes.
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t bits[INTERRUPT_VECTORS / 64];
    bool wake;     // a kick: wait returns even with nothing pending
    bool waiting;  // a thread sleeps in interrupt_tracker_wait
};

void interrupt_tracker_init(struct interrupt_tracker* t);
void interrupt_tracker_destroy(struct interrupt_tracker* t);

// Marks |vector| (< 256) pending and wakes a waiter. Returns whether it was not pending yet.
// |woke_waiter| (may be NULL) tells whether a thread slept in interrupt_tracker_wait: that thread
// is sure to see the vector before it does anything else.
bool interrupt_tracker_track(struct interrupt_tracker* t, uint32_t vector, bool* woke_waiter);

// Removes and returns the highest pending vector, or -1.
int interrupt_tracker_pop(struct interrupt_tracker* t);

// Whether any vector is pending.
bool interrupt_tracker_pending(struct interrupt_tracker* t);

// Blocks until a vector is pending, interrupt_tracker_wake is called, or |deadline|
// (CLOCK_MONOTONIC ns, ZX_TIME_INFINITE for none) passes. Returns whether a vector is pending.
// Consumes the wake-up. May block.
bool interrupt_tracker_wait(struct interrupt_tracker* t, zx_time_t deadline);

// Makes the current or next interrupt_tracker_wait return.
void interrupt_tracker_wake(struct interrupt_tracker* t);

#endif  // ZXHV_HV_INTERRUPT_TRACKER_H_
