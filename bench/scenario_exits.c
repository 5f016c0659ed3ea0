// zxhv bench: guest creation to its first exit, and IO and MEM trap round trips. A round trip is
// the time from one exit reaching the VMM to the next: the VMM's handling, the re-entry and the
// guest's next access. The baseline does KVM_RUN -> KVM_EXIT_IO / KVM_EXIT_MMIO -> KVM_RUN (for
// a load, filling run->mmio.data first); zxhv does zx_vcpu_resume -> packet -> zx_vcpu_resume.
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <zircon/status.h>
#include <zxhv.h>

#include "bench.h"
#include "raw_kvm.h"
#include "zx_guest.h"

#define WARMUP 20

// ---- guest create + 2 MiB + VCPU + first exit + teardown

static void raw_create_once(void) {
    struct raw_vm vm;
    struct raw_vcpu vcpu;
    raw_vm_create(&vm);
    raw_vcpu_create(&vm, &vcpu, guest_entry(guest_exit_now));
    raw_run_expect(&vcpu, KVM_EXIT_IO);
    CHECK(vcpu.run->io.port == EXIT_PORT, "port %#x", vcpu.run->io.port);
    raw_vcpu_destroy(&vcpu);
    raw_vm_destroy(&vm);
}

static void zx_create_once(void) {
    struct zx_guest g;
    zx_guest_make(&g, false);
    CHECK_ZX(zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_IO, EXIT_PORT, 1, ZX_HANDLE_INVALID, 0));
    zx_handle_t vcpu;
    CHECK_ZX(zx_vcpu_create(g.guest, 0, guest_entry(guest_exit_now), &vcpu));
    zx_resume_expect(vcpu, ZX_PKT_TYPE_GUEST_IO, EXIT_PORT);
    CHECK_ZX(zx_handle_close(vcpu));
    zx_guest_unmake(&g);
}

void bench_create(enum side side) {
    void (*once)(void) = side == SIDE_BASE ? raw_create_once : zx_create_once;
    once();  // warm-up: the first guest of a process opens /dev/kvm and more
    for (int i = 0; i < cfg.create_samples; i++) {
        uint64_t t0 = ticks();
        once();
        row_add(ROW_CREATE, side, (double)(ticks() - t0));
    }
}

// ---- round trips

enum exit_kind { EXIT_IO, EXIT_MEM_WRITE, EXIT_MEM_READ, EXIT_MEM_READ_STATE };

static const uint8_t* program_for(enum exit_kind kind) {
    switch (kind) {
        case EXIT_IO:
            return guest_io_loop;
        case EXIT_MEM_WRITE:
            return guest_mem_write_loop;
        default:
            return guest_mem_read_loop;
    }
}

static const uint32_t kLoadValue = 0x5a5a1234u;

// One exit of the baseline, handled: a load gets its value.
static void raw_round_trip(struct raw_vcpu* vcpu, enum exit_kind kind) {
    if (kind == EXIT_IO) {
        raw_run_expect(vcpu, KVM_EXIT_IO);
        return;
    }
    raw_run_expect(vcpu, KVM_EXIT_MMIO);
    if (!vcpu->run->mmio.is_write) memcpy(vcpu->run->mmio.data, &kLoadValue, 4);
}

static void raw_round_trips(enum row_id row, enum exit_kind kind) {
    struct raw_vm vm;
    struct raw_vcpu vcpu;
    raw_vm_create(&vm);
    raw_vcpu_create(&vm, &vcpu, guest_entry(program_for(kind)));
    for (int i = 0; i < WARMUP; i++) raw_round_trip(&vcpu, kind);
    uint64_t last = ticks();
    for (int i = 0; i < cfg.exit_samples; i++) {
        raw_round_trip(&vcpu, kind);
        uint64_t now = ticks();
        row_add(row, SIDE_BASE, (double)(now - last));
        last = now;
    }
    raw_vcpu_destroy(&vcpu);
    raw_vm_destroy(&vm);
}

// One packet through zxhv, handled: a load gets its value, through the extension or, as a
// Zircon VMM does, by reading the registers and writing the loaded one.
static void zx_round_trip(zx_handle_t vcpu, enum exit_kind kind) {
    zx_port_packet_t packet;
    CHECK_ZX(zx_vcpu_resume(vcpu, &packet));
    if (kind == EXIT_IO) {
        CHECK(packet.type == ZX_PKT_TYPE_GUEST_IO, "packet type %u", packet.type);
        return;
    }
    CHECK(packet.type == ZX_PKT_TYPE_GUEST_MEM, "packet type %u", packet.type);
    if (kind == EXIT_MEM_READ) {
        CHECK_ZX(zxhv_vcpu_mem_complete_read(vcpu, kLoadValue));
    } else if (kind == EXIT_MEM_READ_STATE) {
        zx_vcpu_state_t state;
        CHECK_ZX(zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, &state, sizeof(state)));
        state.rax = kLoadValue;  // mov (%rdi),%eax: the packet's instruction names EAX
        CHECK_ZX(zx_vcpu_write_state(vcpu, ZX_VCPU_STATE, &state, sizeof(state)));
    }
}

static void zx_round_trips(enum row_id row, enum exit_kind kind) {
    struct zx_guest g;
    zx_guest_make(&g, false);
    if (kind == EXIT_IO) {
        CHECK_ZX(zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_IO, IO_PORT, 1, ZX_HANDLE_INVALID, 0));
    } else {
        CHECK_ZX(zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_MEM, MEM_TRAP_ADDR, 0x1000,
                                   ZX_HANDLE_INVALID, 0));
    }
    zx_handle_t vcpu;
    CHECK_ZX(zx_vcpu_create(g.guest, 0, guest_entry(program_for(kind)), &vcpu));
    for (int i = 0; i < WARMUP; i++) zx_round_trip(vcpu, kind);
    uint64_t last = ticks();
    for (int i = 0; i < cfg.exit_samples; i++) {
        zx_round_trip(vcpu, kind);
        uint64_t now = ticks();
        row_add(row, SIDE_ZXHV, (double)(now - last));
        last = now;
    }
    CHECK_ZX(zx_handle_close(vcpu));
    zx_guest_unmake(&g);
}

static void round_trips(enum side side, enum row_id row, enum exit_kind kind) {
    if (side == SIDE_BASE) {
        raw_round_trips(row, kind);
    } else {
        zx_round_trips(row, kind);
    }
}

void bench_io(enum side side) {
    round_trips(side, ROW_IO, EXIT_IO);
}
void bench_mem_write(enum side side) {
    round_trips(side, ROW_MEM_WRITE, EXIT_MEM_WRITE);
}
void bench_mem_read(enum side side) {
    round_trips(side, ROW_MEM_READ, EXIT_MEM_READ);
}
void bench_mem_read_state(enum side side) {
    round_trips(side, ROW_MEM_READ_STATE, EXIT_MEM_READ_STATE);
}
