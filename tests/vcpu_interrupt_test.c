// zx_vcpu_interrupt against a guest that counts the interrupts it takes (guests/
// interrupt_counter.S), halted in HLT or running: every interrupt raised from another thread is
// handled, none is lost, and zx_vcpu_kick ends the resume with ZX_ERR_CANCELED (spec §1.5, §1.8,
// §3.7). Built with TSan too.
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>

#include "kvm_helpers.h"

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
    guest_or_skip(&g->guest, &g->vmar);
    g->vmo = new_vmo(GUEST_RAM);
    zx_vaddr_t addr;
    ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, g->vmo, 0,
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
    ASSERT_OK(zx_vmar_map(g->vmar, GUEST_MAP_FLAGS, 0, g->vmo, 0, GUEST_RAM, &addr));
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
        ASSERT_OK(zx_vcpu_interrupt(g->vcpu, 32 + i % 16));
        zx_time_t deadline = now() + ZX_SEC(30);
        while (*g->counter == before) {
            cr_assert(atomic_load(&g->phase) == 1, "resume returned %s while interrupt %u was pending",
                      zx_status_get_string(g->resume_status), i);
            cr_assert(now() < deadline, "interrupt %u (vector %u) was never handled", i, 32 + i % 16);
            sched_yield();
        }
        cr_assert_eq(*g->counter, before + 1, "interrupt %u counted more than once", i);
    }
    return *g->counter;
}

static void run_counting(uint64_t mode, unsigned count) {
    struct counting_guest g;
    memset(&g, 0, sizeof(g));
    g.mode = mode;
    build_guest(&g);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, vcpu_thread, &g), 0);
    while (atomic_load(&g.phase) == 0) sched_yield();
    ASSERT_OK(g.resume_status);
    // In HLT mode, give the guest time to get there first now and then, so some interrupts find
    // it halted and others on its way (both orders must work).
    cr_assert_eq(raise_and_count(&g, count), count);
    // A kick ends the resume; the thread comes back.
    ASSERT_OK(zx_vcpu_kick(g.vcpu));
    cr_assert_eq(pthread_join(thread, NULL), 0);
    ASSERT_STATUS(g.resume_status, ZX_ERR_CANCELED);
    ASSERT_OK(zx_handle_close(g.vcpu));
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)g.host, GUEST_RAM));
    ASSERT_OK(zx_handle_close(g.vmo));
    ASSERT_OK(zx_handle_close(g.vmar));
    ASSERT_OK(zx_handle_close(g.guest));
}

static unsigned interrupt_count(void) {
    const char* s = getenv("ZXHV_INTERRUPT_COUNT");
    return s != NULL && atoi(s) > 0 ? (unsigned)atoi(s) : 1000u;
}

Test(vcpu_interrupt, every_interrupt_reaches_a_halted_vcpu, .timeout = 900) {
    run_counting(0, interrupt_count());
}

Test(vcpu_interrupt, every_interrupt_reaches_a_running_vcpu, .timeout = 900) {
    run_counting(1, interrupt_count());
}

struct kicker_args {
    struct counting_guest* g;
    uint64_t wait_for;
};

// Kicks the VCPU once the guest has counted |wait_for| interrupts.
static void* kick_when_counted(void* arg) {
    struct kicker_args* k = arg;
    zx_time_t deadline = now() + ZX_SEC(60);
    while (*k->g->counter < k->wait_for && now() < deadline) sched_yield();
    zx_vcpu_kick(k->g->vcpu);
    return NULL;
}

Test(vcpu_interrupt, kick_before_resume_cancels_the_next_resume_once, .timeout = 300) {
    struct counting_guest g;
    memset(&g, 0, sizeof(g));
    g.mode = 0;
    build_guest(&g);
    ASSERT_OK(zx_vcpu_create(g.guest, 0, ENTRY, &g.vcpu));
    ASSERT_OK(zx_vcpu_kick(g.vcpu));
    ASSERT_OK(zx_vcpu_kick(g.vcpu));  // several kicks before a resume count as one
    zx_port_packet_t packet;
    ASSERT_STATUS(zx_vcpu_resume(g.vcpu, &packet), ZX_ERR_CANCELED);
    // The next resume runs the guest again: an interrupt raised before it is taken, then a kick
    // from another thread ends it.
    ASSERT_OK(zx_vcpu_interrupt(g.vcpu, 40));
    struct kicker_args k = {.g = &g, .wait_for = 1};
    pthread_t kicker;
    cr_assert_eq(pthread_create(&kicker, NULL, kick_when_counted, &k), 0);
    ASSERT_STATUS(zx_vcpu_resume(g.vcpu, &packet), ZX_ERR_CANCELED);
    cr_assert_eq(pthread_join(kicker, NULL), 0);
    cr_assert_eq(*g.counter, 1);
    ASSERT_OK(zx_handle_close(g.vcpu));
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)g.host, GUEST_RAM));
    ASSERT_OK(zx_handle_close(g.vmo));
    ASSERT_OK(zx_handle_close(g.vmar));
    ASSERT_OK(zx_handle_close(g.guest));
}

Test(vcpu_interrupt, vector_out_of_range_and_rights, .timeout = 300) {
    struct counting_guest g;
    memset(&g, 0, sizeof(g));
    build_guest(&g);
    ASSERT_OK(zx_vcpu_create(g.guest, 0, ENTRY, &g.vcpu));
    ASSERT_STATUS(zx_vcpu_interrupt(g.vcpu, 256), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_vcpu_interrupt(g.vcpu, UINT32_MAX), ZX_ERR_OUT_OF_RANGE);
    zx_handle_t no_signal;
    ASSERT_OK(zx_handle_duplicate(g.vcpu, ZX_RIGHT_DUPLICATE | ZX_RIGHT_EXECUTE, &no_signal));
    ASSERT_STATUS(zx_vcpu_interrupt(no_signal, 32), ZX_ERR_ACCESS_DENIED);
    zx_handle_t no_execute;
    ASSERT_OK(zx_handle_duplicate(g.vcpu, ZX_RIGHT_SIGNAL, &no_execute));
    ASSERT_STATUS(zx_vcpu_kick(no_execute), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_interrupt(g.vmo, 32), ZX_ERR_WRONG_TYPE);  // a VMO has SIGNAL
    zx_handle_t port;
    ASSERT_OK(zx_port_create(0, &port));
    ASSERT_STATUS(zx_vcpu_interrupt(port, 32), ZX_ERR_ACCESS_DENIED);  // rights before type
    ASSERT_OK(zx_handle_close(port));
    ASSERT_STATUS(zx_vcpu_kick(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    ASSERT_OK(zx_handle_close(no_signal));
    ASSERT_OK(zx_handle_close(no_execute));
    ASSERT_OK(zx_handle_close(g.vcpu));
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)g.host, GUEST_RAM));
    ASSERT_OK(zx_handle_close(g.vmo));
    ASSERT_OK(zx_handle_close(g.vmar));
    ASSERT_OK(zx_handle_close(g.guest));
}
