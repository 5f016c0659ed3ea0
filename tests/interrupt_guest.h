// The interrupt-counting guest of tests/guests/interrupt_counter.S and the host side that drives
// it: shared by the Criterion tests (vcpu_interrupt_test.c) and the ThreadSanitizer stress program
// (vcpu_interrupt_tsan.c), which cannot use Criterion (its process arena does not start under
// TSan). The includer defines CHECK(cond, fmt, ...), CHECK_OK(expr) and GUEST_OR_SKIP(guest, vmar).
#ifndef ZXHV_TESTS_INTERRUPT_GUEST_H_
#define ZXHV_TESTS_INTERRUPT_GUEST_H_

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zxhv.h>

#define GUEST_MAP_FLAGS_RWX (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC)

extern const uint8_t interrupt_counter_start[], interrupt_counter_end[];

#define GUEST_RAM (4ull << 20)
#define ENTRY 0x10000
#define COUNTER 0x30000
#define MODE 0x30008

struct counting_guest {
    zx_handle_t guest, vmar, vmo, vcpu;
    volatile uint64_t* counter;  // the guest's COUNTER, seen through a host mapping
    uint8_t* host;
    atomic_int phase;            // 0: setting up, 1: VCPU created, 2: resume returned
    zx_status_t resume_status;
    uint64_t mode;
};

// An identity map of the first 1 GiB with 2 MiB pages at GPA 0 (PML4), 0x1000 (PDPT), 0x2000 (PD).
static void build_guest(struct counting_guest* g) {
    GUEST_OR_SKIP(&g->guest, &g->vmar);
    CHECK_OK(zx_vmo_create(GUEST_RAM, 0, &g->vmo));
    zx_vaddr_t addr;
    CHECK_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, g->vmo, 0,
                          GUEST_RAM, &addr));
    g->host = (uint8_t*)addr;
    uint64_t* pml4 = (uint64_t*)g->host;
    uint64_t* pdpt = (uint64_t*)(g->host + 0x1000);
    uint64_t* pd = (uint64_t*)(g->host + 0x2000);
    pml4[0] = 0x1000 | 3;
    pdpt[0] = 0x2000 | 3;
    for (uint64_t i = 0; i < 512; i++) pd[i] = (i << 21) | 0x83;
    memcpy(g->host + ENTRY, interrupt_counter_start,
           (size_t)(interrupt_counter_end - interrupt_counter_start));
    *(volatile uint64_t*)(g->host + MODE) = g->mode;
    g->counter = (volatile uint64_t*)(g->host + COUNTER);
    CHECK_OK(zx_vmar_map(g->vmar, GUEST_MAP_FLAGS_RWX, 0, g->vmo, 0, GUEST_RAM, &addr));
}

// The VCPU's own thread: create, then resume until the resume ends (a kick).
static void* vcpu_thread(void* arg) {
    struct counting_guest* g = arg;
    g->resume_status = zx_vcpu_create(g->guest, 0, ENTRY, &g->vcpu);
    atomic_store(&g->phase, 1);
    if (g->resume_status != ZX_OK) return NULL;
    zx_port_packet_t packet;
    g->resume_status = zx_vcpu_resume(g->vcpu, &packet);
    atomic_store(&g->phase, 2);
    return NULL;
}

static zx_time_t now(void) { return zx_clock_get_monotonic(); }

// Raises |count| interrupts one after another, each only once the previous one was counted,
// so that none can merge with another; returns how many the guest counted.
static uint64_t raise_and_count(struct counting_guest* g, unsigned count) {
    for (unsigned i = 0; i < count; i++) {
        uint64_t before = *g->counter;
        CHECK_OK(zx_vcpu_interrupt(g->vcpu, 32 + i % 16));
        zx_time_t deadline = now() + ZX_SEC(30);
        while (*g->counter == before) {
            CHECK(atomic_load(&g->phase) == 1, "resume returned %s while interrupt %u was pending",
                      zx_status_get_string(g->resume_status), i);
            CHECK(now() < deadline, "interrupt %u (vector %u) was never handled", i, 32 + i % 16);
            sched_yield();
        }
        CHECK(*g->counter == before + 1, "interrupt %u counted more than once", i);
    }
    return *g->counter;
}


static unsigned interrupt_count(void) {
    const char* s = getenv("ZXHV_INTERRUPT_COUNT");
    return s != NULL && atoi(s) > 0 ? (unsigned)atoi(s) : 1000u;
}

#endif  // ZXHV_TESTS_INTERRUPT_GUEST_H_
