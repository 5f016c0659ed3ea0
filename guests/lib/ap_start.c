// Guest runtime: starting the application processors through the trampoline (trampoline.S).
#include "rt.h"

// Where APs start (STARTUP vector 0x09): a page below 1 MiB, as real mode needs, clear of the
// VMM's page tables (0-0x8000) and boot_params page (0x8000), and below the image (1 MiB).
#define TRAMPOLINE_PAGE 0x9000u

extern const uint8_t trampoline_start[], trampoline_end[];  // trampoline.S: the template

static void (*ap_main)(uint32_t id);

// Called by the trampoline in 64-bit mode on the AP's own stack.
void ap_entry(uint32_t id);
void ap_entry(uint32_t id) {
    idt_load();
    void (*fn)(uint32_t) = __atomic_load_n(&ap_main, __ATOMIC_ACQUIRE);
    fn(id);
    halt_forever();
}

void smp_start_aps(uint32_t first, uint32_t last, void (*fn)(uint32_t id)) {
    if (last >= SMP_MAX_CPUS) last = SMP_MAX_CPUS - 1;
    memcpy((void*)(uintptr_t)TRAMPOLINE_PAGE, trampoline_start,
           (size_t)(trampoline_end - trampoline_start));
    __atomic_store_n(&ap_main, fn, __ATOMIC_RELEASE);
    for (uint32_t id = first; id <= last; id++) {
        apic_send_init(id);
        apic_send_startup(id, TRAMPOLINE_PAGE);
    }
}
