// timer: interrupts from the emulated x2APIC. A self-IPI first, then the timer in each of its
// modes: periodic (10 ms ticks, "tick 1" to "tick 5"), one-shot, and TSC-deadline. Exits 0.
#include "rt.h"

enum {
    VECTOR_SELF_IPI = 0x30,
    VECTOR_PERIODIC = 0x31,
    VECTOR_ONESHOT = 0x32,
    VECTOR_DEADLINE = 0x33,
};

#define TICKS 5u
#define PERIOD_MS 10u
#define ONESHOT_MS 5u
#define MS 1000000ull
#define DEADLINE_CYCLES 1000000ull
// How long to wait for the TSC deadline before calling it lost: a few seconds at any likely TSC
// rate. (The guest knows no TSC frequency, and a lost deadline must not hang the run.)
#define DEADLINE_PATIENCE_CYCLES 20000000000ull

static volatile unsigned ticks;
static volatile unsigned counts[256];  // interrupts taken, by vector (except the periodic one)

static void count(struct interrupt_frame* f) {
    counts[f->vector]++;
    apic_eoi();
}

// The periodic tick prints; after TICKS it stops the timer.
static void on_tick(struct interrupt_frame* f) {
    (void)f;
    if (ticks < TICKS) {
        ticks++;
        kprintf("tick %u\n", ticks);
        if (ticks == TICKS) apic_timer_stop();
    }
    apic_eoi();
}

// Halts until *counter reaches n (interrupts are off outside the wait).
static void wait_for(volatile unsigned* counter, unsigned n) {
    while (*counter < n) wait_for_interrupt();
}

int main(void) {
    interrupt_register(VECTOR_SELF_IPI, count);
    interrupt_register(VECTOR_PERIODIC, on_tick);
    interrupt_register(VECTOR_ONESHOT, count);
    interrupt_register(VECTOR_DEADLINE, count);

    apic_self_ipi(VECTOR_SELF_IPI);
    wait_for(&counts[VECTOR_SELF_IPI], 1);
    kprintf("timer: self-IPI delivered\n");

    kprintf("timer: periodic, every %u ms\n", PERIOD_MS);
    apic_timer_periodic(VECTOR_PERIODIC, PERIOD_MS * MS);
    wait_for(&ticks, TICKS);

    apic_timer_oneshot(VECTOR_ONESHOT, ONESHOT_MS * MS);
    wait_for(&counts[VECTOR_ONESHOT], 1);
    uint32_t left = apic_timer_current_count();
    if (left != 0) panic("one-shot timer fired but still counts (%u)", left);
    kprintf("timer: one-shot fired after %u ms\n", ONESHOT_MS);

    // Spin rather than HLT, so that a deadline that never fires ends the run instead of hanging.
    uint64_t deadline = rdtsc() + DEADLINE_CYCLES;
    apic_timer_tsc_deadline(VECTOR_DEADLINE, deadline);
    __asm__ volatile("sti");
    while (counts[VECTOR_DEADLINE] == 0) {
        if (rdtsc() > deadline + DEADLINE_PATIENCE_CYCLES) panic("TSC deadline did not fire");
        cpu_relax();
    }
    __asm__ volatile("cli");
    kprintf("timer: TSC deadline fired\n");
    apic_timer_stop();

    unsigned oneshots = counts[VECTOR_ONESHOT], deadlines = counts[VECTOR_DEADLINE];
    if (ticks != TICKS || oneshots != 1 || deadlines != 1)
        panic("interrupt counts: %u ticks, %u one-shots, %u deadlines", ticks, oneshots, deadlines);
    kprintf("timer: done\n");
    return 0;
}
