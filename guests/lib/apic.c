// Guest runtime: the x2APIC as zxhv emulates it (spec §3.7; src/arch/x86/x2apic.c): registers
// are MSRs 0x800 + (xAPIC offset >> 4), the timer counts at 1 GHz divided by the divide
// configuration, and ICR writes of INIT, STARTUP and fixed IPIs go to the VMM.
#include "rt.h"

#define MSR_ID 0x802
#define MSR_EOI 0x80b
#define MSR_ICR 0x830
#define MSR_LVT_TIMER 0x832
#define MSR_INITIAL_COUNT 0x838
#define MSR_CURRENT_COUNT 0x839
#define MSR_DIVIDE 0x83e
#define MSR_SELF_IPI 0x83f
#define MSR_TSC_DEADLINE 0x6e0

#define LVT_MASKED (1u << 16)
#define LVT_ONESHOT (0u << 17)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)

#define ICR_FIXED (0u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_LEVEL_ASSERT (1u << 14)

uint32_t apic_id(void) { return (uint32_t)rdmsr(MSR_ID); }

void apic_eoi(void) { wrmsr(MSR_EOI, 0); }

void apic_self_ipi(uint8_t vector) { wrmsr(MSR_SELF_IPI, vector); }

static void send_icr(uint32_t dest, uint32_t low) { wrmsr(MSR_ICR, ((uint64_t)dest << 32) | low); }

void apic_send_ipi(uint32_t dest, uint8_t vector) { send_icr(dest, ICR_FIXED | vector); }

void apic_send_init(uint32_t dest) { send_icr(dest, ICR_INIT | ICR_LEVEL_ASSERT); }

void apic_send_startup(uint32_t dest, uint64_t entry) {
    send_icr(dest, ICR_STARTUP | ICR_LEVEL_ASSERT | (uint32_t)(entry >> 12));
}

// Programs the divider and returns the count for |ns|: the smallest divider (1, 2, 4, ... 128)
// whose count fits the 32-bit initial-count register. Undivided, one tick is 1 ns.
static uint32_t set_divider_for(uint64_t ns) {
    static const uint8_t dcr[8] = {0xb, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa};  // divide by 1 << i
    unsigned i = 0;
    while (i < 7 && ns >> i > UINT32_MAX) i++;
    wrmsr(MSR_DIVIDE, dcr[i]);
    uint64_t count = (ns >> i) ? (ns >> i) : 1;
    return count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
}

static void timer_start(uint32_t mode, uint8_t vector, uint64_t ns) {
    uint32_t count = set_divider_for(ns);
    wrmsr(MSR_LVT_TIMER, mode | vector);
    wrmsr(MSR_INITIAL_COUNT, count);  // starts counting
}

void apic_timer_periodic(uint8_t vector, uint64_t ns) { timer_start(LVT_PERIODIC, vector, ns); }

void apic_timer_oneshot(uint8_t vector, uint64_t ns) { timer_start(LVT_ONESHOT, vector, ns); }

void apic_timer_tsc_deadline(uint8_t vector, uint64_t tsc) {
    wrmsr(MSR_LVT_TIMER, LVT_TSC_DEADLINE | vector);
    wrmsr(MSR_TSC_DEADLINE, tsc);
}

void apic_timer_stop(void) {
    wrmsr(MSR_LVT_TIMER, LVT_MASKED);  // one-shot mode: leaving TSC-deadline mode disarms it
    wrmsr(MSR_INITIAL_COUNT, 0);
}

uint32_t apic_timer_current_count(void) { return (uint32_t)rdmsr(MSR_CURRENT_COUNT); }
