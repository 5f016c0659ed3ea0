// smp: starts the other CPUs. The BSP sends INIT and STARTUP to x2APIC IDs 1..63; zxhv run
// starts the ones its --cpus allows, in real mode, and each runs the trampoline to 64-bit mode,
// prints "AP <id> up", checks in and sends the BSP an IPI. No channel tells the guest how many
// CPUs it has, so the BSP waits until all 63 are up or none has checked in for QUIET_NS, then
// prints "smp: N CPUs up" and exits 0.
#include "rt.h"

enum {
    VECTOR_CHECK_IN = 0x40,
    VECTOR_TIMEOUT = 0x41,
};

#define QUIET_NS 3000000000ull  // 3 s: AP start-up is slow under nested emulation

static uint32_t bsp_id;
static uint64_t up_mask;  // bit n: the CPU with x2APIC ID n is up (atomic)
static volatile bool timed_out;

static void ap_main(uint32_t id) {
    kprintf("AP %u up\n", id);
    __atomic_or_fetch(&up_mask, 1ull << id, __ATOMIC_SEQ_CST);
    apic_send_ipi(__atomic_load_n(&bsp_id, __ATOMIC_RELAXED), VECTOR_CHECK_IN);
}

static void on_check_in(struct interrupt_frame* f) {
    (void)f;
    apic_eoi();
}

static void on_timeout(struct interrupt_frame* f) {
    (void)f;
    timed_out = true;
    apic_eoi();
}

int main(void) {
    bsp_id = apic_id();
    up_mask = 1ull << bsp_id;
    interrupt_register(VECTOR_CHECK_IN, on_check_in);
    interrupt_register(VECTOR_TIMEOUT, on_timeout);
    const uint32_t last = SMP_MAX_CPUS - 1;
    uint64_t all = last == 63 ? UINT64_MAX : (2ull << last) - 1;
    kprintf("smp: BSP is x2APIC ID %u; starting x2APIC IDs 1-%u\n", bsp_id, last);
    smp_start_aps(1, last, ap_main);

    uint64_t seen = 0;
    while (!timed_out) {
        uint64_t now = __atomic_load_n(&up_mask, __ATOMIC_SEQ_CST);
        if (now != seen) {
            seen = now;
            if (seen == all) break;
            apic_timer_oneshot(VECTOR_TIMEOUT, QUIET_NS);  // restarts the wait
        }
        wait_for_interrupt();
    }
    apic_timer_stop();

    // One line, built first: a late AP may still print.
    char ids[SMP_MAX_CPUS * 3 + 1] = "";
    size_t len = 0;
    for (unsigned id = 0; id < SMP_MAX_CPUS; id++) {
        if (seen & (1ull << id)) len += ksnprintf(ids + len, sizeof(ids) - len, " %u", id);
    }
    kprintf("smp: x2APIC IDs up:%s\n", ids);
    unsigned count = (unsigned)__builtin_popcountll(seen);
    kprintf("smp: %u CPU%s up\n", count, count == 1 ? "" : "s");
    return 0;
}
