// The doorbell fast path (zxhv_guest_set_bell_fastpath, zxhv.h): writes absorbed by a KVM
// ioeventfd still give one packet each (ZXHV_BELL_EXACT) or at least one (ZXHV_BELL_COALESCE), a
// doorbell taken through an exit never overtakes them, and the arguments are checked in order.
#include <pthread.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zxhv.h>

#include "kvm_helpers.h"

#define GUEST_RAM (4ull << 20)
#define ENTRY 0x10000ull
#define BELL_BASE 0x300000ull
#define BELL_LEN 0x1000ull
#define MEM_BASE 0x301000ull
#define RINGS 1000u
#define EXIT_PORT 0x11u
#define KEY 0xfa57u

// mov $BELL_BASE,%rdi; mov $RINGS,%ecx; 1: mov %rcx,(%rdi); loop 1b  (8-byte writes at BELL_BASE)
// movl $7,(%rdi)       (a 4-byte write at BELL_BASE: not the fast path's size, so an exit)
// mov %rax,8(%rdi)     (BELL_BASE + 8: no fast path there, an exit)
// out %al,$EXIT_PORT; jmp .
static const uint8_t kRinger[] = {
    0x48, 0xc7, 0xc7, 0x00, 0x00, 0x30, 0x00, 0xb9, 0xe8, 0x03, 0x00, 0x00, 0x48, 0x89, 0x0f, 0xe2,
    0xfb, 0xc7, 0x07, 0x07, 0x00, 0x00, 0x00, 0x48, 0x89, 0x47, 0x08, 0xe6, EXIT_PORT, 0xeb, 0xfe,
};

// The same 1,000 writes, then straight to the exit port.
#define ENTRY_ONLY_FAST 0x11000ull
static const uint8_t kOnlyFast[] = {
    0x48, 0xc7, 0xc7, 0x00, 0x00, 0x30, 0x00, 0xb9, 0xe8, 0x03, 0x00,
    0x00, 0x48, 0x89, 0x0f, 0xe2, 0xfb, 0xe6, EXIT_PORT, 0xeb, 0xfe,
};

struct fixture {
    zx_handle_t guest, vmar, vmo, port, vcpu;
};

static void setup_guest(struct fixture* f) {
    guest_or_skip(&f->guest, &f->vmar);
    f->vmo = new_vmo(GUEST_RAM);
    write_identity_map(f->vmo);
    ASSERT_OK(zx_vmo_write(f->vmo, kRinger, ENTRY, sizeof(kRinger)));
    ASSERT_OK(zx_vmo_write(f->vmo, kOnlyFast, ENTRY_ONLY_FAST, sizeof(kOnlyFast)));
    zx_vaddr_t addr;
    ASSERT_OK(zx_vmar_map(f->vmar, GUEST_MAP_FLAGS, 0, f->vmo, 0, GUEST_RAM, &addr));
    ASSERT_OK(zx_port_create(0, &f->port));
    ASSERT_OK(zx_guest_set_trap(f->guest, ZX_GUEST_TRAP_BELL, BELL_BASE, BELL_LEN, f->port, KEY));
    ASSERT_OK(zx_guest_set_trap(f->guest, ZX_GUEST_TRAP_MEM, MEM_BASE, 0x1000, ZX_HANDLE_INVALID,
                                0));
    ASSERT_OK(zx_guest_set_trap(f->guest, ZX_GUEST_TRAP_IO, EXIT_PORT, 1, ZX_HANDLE_INVALID, 0));
}

static void teardown_guest(struct fixture* f) {
    if (f->vcpu != ZX_HANDLE_INVALID) ASSERT_OK(zx_handle_close(f->vcpu));
    ASSERT_OK(zx_handle_close(f->port));
    ASSERT_OK(zx_handle_close(f->vmo));
    ASSERT_OK(zx_handle_close(f->vmar));
    ASSERT_OK(zx_handle_close(f->guest));
}

// The addresses of the packets read until one at |last| arrives (or 30 s pass).
struct reader {
    zx_handle_t port;
    uint64_t last;
    unsigned at_base;       // packets for BELL_BASE before the first one elsewhere
    uint64_t tail[3];       // the addresses of the packets after those
    unsigned tail_count;
    unsigned wrong;         // bad key or type
};

static void* read_until_last(void* arg) {
    struct reader* r = arg;
    for (;;) {
        zx_port_packet_t p;
        if (zx_port_wait(r->port, zx_deadline_after(ZX_SEC(120)), &p) != ZX_OK) break;
        if (p.key != KEY || p.type != ZX_PKT_TYPE_GUEST_BELL) r->wrong++;
        if (r->tail_count == 0 && p.guest_bell.addr == BELL_BASE) {
            r->at_base++;
        } else if (r->tail_count < 3) {
            r->tail[r->tail_count++] = p.guest_bell.addr;
        }
        if (p.guest_bell.addr == r->last) break;
    }
    return NULL;
}

static unsigned thread_count(void) {
    DIR* d = opendir("/proc/self/task");
    cr_assert_not_null(d);
    unsigned n = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n;
}

static void run_ringer(uint32_t options, struct reader* r) {
    struct fixture f = {0};
    skip_without_kvm();  // opens the process's /dev/kvm descriptor before the census
    unsigned threads = thread_count();
    struct process_census before = census();
    setup_guest(&f);
    ASSERT_OK(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE, 8, options));
    ASSERT_OK(zx_vcpu_create(f.guest, 0, ENTRY, &f.vcpu));
    r->port = f.port;
    r->last = BELL_BASE + 8;
    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, read_until_last, r), 0);
    zx_port_packet_t p;
    ASSERT_OK(zx_vcpu_resume(f.vcpu, &p));
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_IO);
    cr_assert_eq(p.guest_io.port, EXIT_PORT);
    cr_assert_eq(pthread_join(reader, NULL), 0);
    cr_assert_eq(r->wrong, 0, "%u packets had the wrong key or type", r->wrong);
    // Nothing more is queued.
    ASSERT_STATUS(zx_port_wait(f.port, 0, &p), ZX_ERR_TIMED_OUT);
    teardown_guest(&f);
    // The fast path's thread and descriptors go with the guest.
    cr_assert_eq(thread_count(), threads, "threads: %u before, %u after", threads,
                 thread_count());
    assert_census_unchanged(before, "guest with a fast path, closed");
}

Test(bell_fastpath, exact_gives_one_packet_per_write_in_order, .timeout = 1200) {
    struct reader r = {0};
    run_ringer(ZXHV_BELL_EXACT, &r);
    cr_assert_eq(r.at_base, RINGS + 1, "%u packets for the ringed address, want %u (%u + the "
                 "4-byte write taken through an exit)", r.at_base, RINGS + 1, RINGS);
    cr_assert_eq(r.tail_count, 1);
    cr_assert_eq(r.tail[0], BELL_BASE + 8);
}

Test(bell_fastpath, coalesce_gives_at_least_one_packet_and_keeps_order, .timeout = 1200) {
    struct reader r = {0};
    run_ringer(ZXHV_BELL_COALESCE, &r);
    cr_assert(r.at_base >= 2 && r.at_base <= RINGS + 1,
              "%u packets for the ringed address: want 1..%u from the fast path and 1 from the "
              "exit", r.at_base, RINGS);
    cr_assert_eq(r.tail_count, 1);
    cr_assert_eq(r.tail[0], BELL_BASE + 8);
}

// The exit path would stop the VCPU at 256 unread packets; absorbed writes never stop it, and the
// library still queues all 1,000 as room appears.
Test(bell_fastpath, absorbed_writes_never_stop_the_vcpu_and_none_is_lost, .timeout = 1200) {
    struct fixture f = {0};
    setup_guest(&f);
    ASSERT_OK(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE, 8, ZXHV_BELL_EXACT));
    ASSERT_OK(zx_vcpu_create(f.guest, 0, ENTRY_ONLY_FAST, &f.vcpu));
    zx_port_packet_t p;
    ASSERT_OK(zx_vcpu_resume(f.vcpu, &p));  // nobody reads the port meanwhile
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_IO);
    cr_assert_eq(p.guest_io.port, EXIT_PORT);
    unsigned got = 0;
    while (got < RINGS && zx_port_wait(f.port, zx_deadline_after(ZX_SEC(60)), &p) == ZX_OK) {
        cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_BELL);
        cr_assert_eq(p.guest_bell.addr, BELL_BASE);
        got++;
    }
    cr_assert_eq(got, RINGS, "%u of %u packets arrived", got, RINGS);
    ASSERT_STATUS(zx_port_wait(f.port, zx_deadline_after(ZX_MSEC(100)), &p), ZX_ERR_TIMED_OUT);
    teardown_guest(&f);
}

Test(bell_fastpath, arguments_are_checked_in_order) {
    struct fixture f = {0};
    setup_guest(&f);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(ZX_HANDLE_INVALID, BELL_BASE, 4, 0),
                  ZX_ERR_BAD_HANDLE);
    // Rights before type, as every zx_ call (handle lookup with rights, docs/host-differences.md).
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.port, BELL_BASE, 4, 0), ZX_ERR_WRONG_TYPE);
    zx_handle_t read_only = dup_rights(f.guest, ZX_RIGHT_TRANSFER | ZX_RIGHT_DUPLICATE);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(read_only, BELL_BASE, 4, 0), ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(read_only));
    // Options, then size, then the range.
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, UINT64_MAX, 3, 2), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, UINT64_MAX, 3, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE, 0, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE, 16, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, UINT64_MAX - 3, 8, 0),
                  ZX_ERR_OUT_OF_RANGE);
    // Only inside a BELL trap, entirely.
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, 0x200000, 4, 0), ZX_ERR_NOT_FOUND);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, MEM_BASE, 4, 0), ZX_ERR_NOT_FOUND);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE + BELL_LEN - 4, 8, 0),
                  ZX_ERR_NOT_FOUND);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, EXIT_PORT, 1, 0), ZX_ERR_NOT_FOUND);
    // One fast path per address, whatever its size.
    struct process_census before = census();
    ASSERT_OK(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE + BELL_LEN - 8, 8, 0));
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE + BELL_LEN - 8, 8, 0),
                  ZX_ERR_ALREADY_EXISTS);
    ASSERT_STATUS(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE + BELL_LEN - 8, 4,
                                               ZXHV_BELL_COALESCE),
                  ZX_ERR_ALREADY_EXISTS);
    ASSERT_OK(zxhv_guest_set_bell_fastpath(f.guest, BELL_BASE, 1, ZXHV_BELL_COALESCE));
    cr_assert_eq(census().handles, before.handles, "a fast path makes no handle");
    teardown_guest(&f);
}
