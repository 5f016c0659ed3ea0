// BELL traps under load (spec §1.2, §3.10): a guest rings a doorbell 1,000 times, at 1,000
// distinct addresses, while a slow reader drains the port; every packet arrives, in order, and the
// VCPU waits whenever 256 are unread instead of dropping any.
#include <pthread.h>
#include <time.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>

#include "kvm_helpers.h"

#define GUEST_RAM (4ull << 20)
#define ENTRY 0x10000ull
#define BELL_BASE 0x300000ull
#define BELL_LEN 0x2000ull  // 1,024 quadwords: one address per ring
#define RINGS 1000u
#define EXIT_PORT 0x11u
#define KEY 0x5eedu

// mov $BELL_BASE,%rdi; mov $RINGS,%ecx; 1: mov %rcx,(%rdi); add $8,%rdi; loop 1b;
// out %al,$EXIT_PORT; jmp .
static const uint8_t kRinger[] = {
    0x48, 0xc7, 0xc7, 0x00, 0x00, 0x30, 0x00, 0xb9, 0xe8, 0x03, 0x00, 0x00, 0x48, 0x89, 0x0f,
    0x48, 0x83, 0xc7, 0x08, 0xe2, 0xf7, 0xe6, EXIT_PORT, 0xeb, 0xfe,
};

struct reader {
    zx_handle_t port;
    unsigned got;
    unsigned out_of_order;
    unsigned wrong;
};

// Reads RINGS packets, slowly (1 ms each), checking each one's key, type and address.
static void* slow_reader(void* arg) {
    struct reader* r = arg;
    for (unsigned i = 0; i < RINGS; i++) {
        zx_port_packet_t p;
        if (zx_port_wait(r->port, zx_deadline_after(ZX_SEC(120)), &p) != ZX_OK) break;
        r->got++;
        if (p.key != KEY || p.type != ZX_PKT_TYPE_GUEST_BELL) r->wrong++;
        if (p.guest_bell.addr != BELL_BASE + 8ull * i) r->out_of_order++;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return NULL;
}

Test(bell, thousand_rings_with_a_slow_reader_all_arrive_in_order, .timeout = 1200) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    zx_handle_t vmo = new_vmo(GUEST_RAM);
    write_identity_map(vmo);
    ASSERT_OK(zx_vmo_write(vmo, kRinger, ENTRY, sizeof(kRinger)));
    zx_vaddr_t addr;
    ASSERT_OK(zx_vmar_map(vmar, GUEST_MAP_FLAGS, 0, vmo, 0, GUEST_RAM, &addr));

    struct reader r = {0};
    ASSERT_OK(zx_port_create(0, &r.port));
    ASSERT_OK(zx_guest_set_trap(guest, ZX_GUEST_TRAP_BELL, BELL_BASE, BELL_LEN, r.port, KEY));
    ASSERT_OK(zx_guest_set_trap(guest, ZX_GUEST_TRAP_IO, EXIT_PORT, 1, ZX_HANDLE_INVALID, 0));
    zx_handle_t vcpu;
    ASSERT_OK(zx_vcpu_create(guest, 0, ENTRY, &vcpu));

    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, slow_reader, &r), 0);
    // The doorbells never stop the VCPU: the first packet back is the exit port.
    zx_port_packet_t p;
    ASSERT_OK(zx_vcpu_resume(vcpu, &p));
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_IO);
    cr_assert_eq(p.guest_io.port, EXIT_PORT);
    cr_assert_eq(pthread_join(reader, NULL), 0);
    cr_assert_eq(r.got, RINGS, "%u of %u packets arrived", r.got, RINGS);
    cr_assert_eq(r.wrong, 0, "%u packets had the wrong key or type", r.wrong);
    cr_assert_eq(r.out_of_order, 0, "%u packets came out of order", r.out_of_order);
    // Nothing more is queued.
    ASSERT_STATUS(zx_port_wait(r.port, 0, &p), ZX_ERR_TIMED_OUT);

    ASSERT_OK(zx_handle_close(vcpu));
    ASSERT_OK(zx_handle_close(r.port));
    ASSERT_OK(zx_handle_close(vmo));
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}
