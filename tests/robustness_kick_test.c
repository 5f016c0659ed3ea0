// Regression tests for findings of the robustness work (docs/robustness.md, "Findings").
#include <pthread.h>
#include <stdatomic.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>

#include "kvm_helpers.h"

// out 0x99, al (an untrapped port: ZX_ERR_NOT_FOUND, the access left pending); mov ecx, 2^30;
// loop $; jmp back to the out.
static const uint8_t kOutThenSpin[] = {0xe6, 0x99, 0xb9, 0x00, 0x00, 0x00, 0x40,
                                       0xe2, 0xfe, 0xeb, 0xf5};

struct kicker {
    zx_handle_t vcpu;
    zx_duration_t delay;
    atomic_bool go;
};

static void* kick_after_delay(void* arg) {
    struct kicker* k = arg;
    while (!atomic_load(&k->go)) {
    }
    zx_nanosleep(zx_deadline_after(k->delay));
    zx_vcpu_kick(k->vcpu);
    return NULL;
}

// Finding 3: a kick that came while zx_vcpu_resume was completing the previous exit's access
// (which happens before entering the guest whenever an interrupt is pending) was erased, and a
// guest that made no more exits was never stopped. Each trial leaves an OUT pending with a vector
// pending that the guest cannot take (IF clear), then kicks the resume at a different delay: the
// resume must end with ZX_ERR_CANCELED, not run the 2^30-iteration loop to the next OUT.
Test(robustness, kick_during_access_completion_stops_the_guest, .timeout = 600) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    zx_handle_t vmo = new_vmo(1 << 20);
    write_identity_map(vmo);
    ASSERT_OK(zx_vmo_write(vmo, kOutThenSpin, 0x8000, sizeof(kOutThenSpin)));
    zx_vaddr_t addr;
    ASSERT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE |
                                    ZX_VM_SPECIFIC, 0, vmo, 0, 1 << 20, &addr));
    zx_handle_t vcpu;
    ASSERT_OK(zx_vcpu_create(guest, 0, 0x8000, &vcpu));
    ASSERT_OK(zx_vcpu_interrupt(vcpu, 40));  // stays pending: IF is clear
    zx_port_packet_t packet;
    const char* env = getenv("ZXHV_KICK_TRIALS");
    int trials = env != NULL && atoi(env) > 0 ? atoi(env) : 600;
    env = getenv("ZXHV_KICK_MAX_US");
    int max_us = env != NULL && atoi(env) > 0 ? atoi(env) : 400;
    for (int trial = 0; trial < trials; trial++) {
        // Reach the OUT (the loop, if any, shortened to one iteration).
        zx_vcpu_state_t state;
        ASSERT_OK(zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, &state, sizeof(state)));
        state.rcx = 1;
        ASSERT_OK(zx_vcpu_write_state(vcpu, ZX_VCPU_STATE, &state, sizeof(state)));
        ASSERT_STATUS(zx_vcpu_resume(vcpu, &packet), ZX_ERR_NOT_FOUND);

        struct kicker k = {vcpu, ZX_USEC((trial * 37) % max_us) + (trial * 7919) % 1000, false};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, kick_after_delay, &k), 0);
        atomic_store(&k.go, true);
        zx_status_t status = zx_vcpu_resume(vcpu, &packet);
        pthread_join(t, NULL);
        cr_assert_eq(status, ZX_ERR_CANCELED,
                     "trial %d (kick after %ld ns): resume gave %s; the kick was lost", trial,
                     (long)k.delay, zx_status_get_string(status));
    }
    ASSERT_OK(zx_handle_close(vcpu));
    ASSERT_OK(zx_handle_close(vmo));
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}
