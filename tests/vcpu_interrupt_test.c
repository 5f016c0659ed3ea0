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

#define CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
#define CHECK_OK(expr) ASSERT_OK(expr)
#define GUEST_OR_SKIP(guest, vmar) guest_or_skip(guest, vmar)
#include "interrupt_guest.h"

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
