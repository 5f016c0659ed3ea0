// zxhv tests: what the x2APIC guests (x2apic_guests.S) and their host (x2apic_test.c) share.
// The guests run in the Zircon test fixture (tests/zircon/layout.h: code at GUEST_ENTRY, a second
// VCPU's code at AP_ENTRY); their data lives in the page at DATA, which starts zeroed.
#ifndef ZXHV_TESTS_GUESTS_X2APIC_LAYOUT_H_
#define ZXHV_TESTS_GUESTS_X2APIC_LAYOUT_H_

// x2APIC registers as MSRs (spec §3.7; Intel SDM vol. 3 table 10-6).
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define X2APIC_ID 0x802
#define X2APIC_VERSION 0x803
#define X2APIC_TPR 0x808
#define X2APIC_EOI 0x80b
#define X2APIC_LDR 0x80d
#define X2APIC_SVR 0x80f
#define X2APIC_ISR0 0x810
#define X2APIC_TMR0 0x818
#define X2APIC_IRR0 0x820
#define X2APIC_ESR 0x828
#define X2APIC_LVT_CMCI 0x82f
#define X2APIC_ICR 0x830
#define X2APIC_LVT_TIMER 0x832
#define X2APIC_LVT_THERMAL 0x833
#define X2APIC_LVT_PERF 0x834  // Zircon's LVT_MONITOR
#define X2APIC_LVT_LINT0 0x835
#define X2APIC_LVT_LINT1 0x836
#define X2APIC_LVT_ERROR 0x837
#define X2APIC_INITIAL_COUNT 0x838
#define X2APIC_CURRENT_COUNT 0x839
#define X2APIC_DCR 0x83e
#define X2APIC_SELF_IPI 0x83f

// LVT_TIMER fields.
#define LVT_MASKED 0x10000
#define LVT_ONESHOT 0
#define LVT_PERIODIC (1 << 17)
#define LVT_TSC_DEADLINE (2 << 17)
#define DCR_DIVIDE_BY_1 0xb
#define DCR_DIVIDE_BY_128 0xa

// ICR fields (the destination is bits 63:32).
#define ICR_FIXED (0 << 8)
#define ICR_NMI (4 << 8)
#define ICR_INIT (5 << 8)
#define ICR_STARTUP (6 << 8)
#define ICR_LOGICAL (1 << 11)
#define ICR_ASSERT (1 << 14)
#define ICR_SELF (1 << 18)
#define ICR_ALL_INCLUDING_SELF (2 << 18)
#define ICR_ALL_EXCLUDING_SELF (3 << 18)

// The vectors the guests' IDT gives to the counting handler: 32 to 47. Others fault (#GP: beyond
// the IDT's limit), which the guest reports as an exception exit.
#define FIRST_COUNTED_VECTOR 32
#define LAST_COUNTED_VECTOR 47
#define TIMER_VECTOR 40
#define LOW_VECTOR 33
#define HIGH_VECTOR 37

// One APIC timer tick is 1 ns times the divider (docs/host-differences.md §5.5).
#define ONESHOT_COUNT 1000000    // 1 ms
#define PERIODIC_COUNT 2000000   // 2 ms
#define MASKED_COUNT 1000000     // 1 ms
#define TSC_DELTA 1000000        // TSC ticks to the first deadline
#define TSC_DISARM_DELTA 1000000000  // the deadline that is disarmed before it comes

// The IO port the second VCPU reports through (a trap without a port: GUEST_IO packets).
#define X2APIC_PORT 0x11

// The data page.
#define DATA 0x10000
#define COUNTS (DATA + 0x000)       // 256 quadwords: interrupts taken, by vector
#define LOG_LEN (DATA + 0x800)      // interrupts taken, in all
#define LOG (DATA + 0x808)          // the first LOG_MAX vectors taken, one byte each, in order
#define LOG_MAX 64
#define GP_COUNT (DATA + 0x848)     // #GP faults taken on RDMSR or WRMSR (stepped over)
#define EOI_MODE (DATA + 0x850)     // set by the host: nonzero, the handler writes EOI = 0
#define ISR_SEEN (DATA + 0x858)     // OR of the ISR word each handler read for its own vector
#define PHASE (DATA + 0x860)        // how far the guest got (for the host's waits and messages)
#define RESULTS (DATA + 0x900)      // values the guest recorded: RESULT(i)
#define RESULT(i) (RESULTS + 8 * (i))

// The MSR probe (x2apic_msr_probe): the host writes PROBE_OPS entries {op, msr, value}, the
// guest writes one PROBE_OUT entry {value read, #GP taken} for each.
#define PROBE_OPS 0x11000
#define PROBE_OUT 0x12000
#define PROBE_READ 0
#define PROBE_WRITE 1
#define PROBE_END 2
#define PROBE_SENTINEL 0xa5a5a5a5  // EDX and EAX before each RDMSR

#endif  // ZXHV_TESTS_GUESTS_X2APIC_LAYOUT_H_
