// zxhv tests: the fixture of Zircon's hypervisor tests (spec §4.2), written for zxhv, with the
// public API only. A test sets up a guest whose first VCPU runs one routine of x86.S (or
// x86_vcpu.S) at GUEST_ENTRY, resumes it and checks the packets and the state it leaves.
#ifndef ZXHV_TESTS_ZIRCON_FIXTURE_H_
#define ZXHV_TESTS_ZIRCON_FIXTURE_H_

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "layout.h"

// spec §4.1 and §4.2.
#define GUEST_MAP_FLAGS \
    (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC)  // 0x17
#define HOST_MAP_FLAGS (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define TRAP_KEY 0x1234u

// Page-table entry bits.
#define PTE_P 0x01u
#define PTE_RW 0x02u
#define PTE_U 0x04u
#define PTE_PS 0x80u

// A guest routine: the bytes between NAME_start and NAME_end.
#define GUEST_ROUTINE(name) extern const uint8_t name##_start[], name##_end[]
#define ROUTINE(name) name##_start, name##_end

// Asserts that |expr| gives status |want|, naming both on failure.
#define ASSERT_STATUS(expr, want)                                                            \
    do {                                                                                     \
        zx_status_t got_ = (expr);                                                           \
        zx_status_t want_ = (want);                                                          \
        cr_assert_eq(got_, want_, "%s\n  got  %s (%d)\n  want %s (%d)", #expr,               \
                     zx_status_get_string(got_), got_, zx_status_get_string(want_), want_); \
    } while (0)

#define ASSERT_OK(expr) ASSERT_STATUS(expr, ZX_OK)

typedef struct fixture {
    zx_handle_t vmo;    // guest RAM, VMO_SIZE bytes
    zx_handle_t guest;
    zx_handle_t vmar;   // the guest physical address space
    zx_handle_t vcpu;   // the first VCPU, entry GUEST_ENTRY
    uint8_t* host;      // the host's view of guest RAM
    bool interrupts_enabled;
    bool irq_thread_started;
    pthread_t irq_thread;
    zx_status_t irq_status;
} fixture_t;

// spec §4.2, steps 1-9: guest RAM, the guest, the exit trap, the identity map of [0, 1 GiB),
// the routine [start, end) at GUEST_ENTRY and the first VCPU there. Skips the test (with the
// reason) if there is no usable KVM.
void fixture_setup(fixture_t* f, const uint8_t* start, const uint8_t* end);

// fixture_setup, then a thread that raises vector 32 on the VCPU (joined by fixture_teardown).
void fixture_setup_and_interrupt(fixture_t* f, const uint8_t* start, const uint8_t* end);

// Steps 1-7 only: no code, no VCPU.
void fixture_make_guest(fixture_t* f);

// Copies [start, end) to guest physical |gpa|.
void fixture_load(fixture_t* f, uint64_t gpa, const uint8_t* start, const uint8_t* end);

// zx_vcpu_create(guest, 0, entry): skips the test on ZX_ERR_NOT_SUPPORTED, asserts ZX_OK.
zx_handle_t fixture_create_vcpu(fixture_t* f, zx_vaddr_t entry);

// Joins the interrupt thread, unmaps guest RAM from the host and closes every handle.
void fixture_teardown(fixture_t* f);

// spec §4.2: the next resume must end at the exit store (GUEST_MEM at EXIT_TEST_ADDR, default
// operand size 4) with no exception reported by the guest.
void resume_and_clean_exit(fixture_t* f);

// Whether the exit store of |mem| reports an exception or a failure marker (guest_asm.h),
// logging what the guest left in rax, rbx and rcx.
bool exception_thrown(fixture_t* f, const zx_packet_guest_mem_t* mem);

// The VCPU's registers (asserts ZX_OK).
zx_vcpu_state_t read_vcpu_state(zx_handle_t vcpu);

// A description of a packet for failure messages ("GUEST_IO port 0x11 ..."), in a
// buffer of the calling thread.
const char* describe_packet(const zx_port_packet_t* p);

// What KVM offers a guest (KVM_GET_SUPPORTED_CPUID). Each skips the test if KVM cannot be
// asked (no usable /dev/kvm, or $ZXHV_KVM_DEVICE as the library uses it).
bool kvm_supported_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
bool host_has_1g_pages(void);          // leaf 0x80000001 EDX bit 26
bool host_has_smap(void);              // leaf 7 EBX bit 20
unsigned host_guest_maxphyaddr(void);  // leaf 0x80000008 EAX bits 7:0 (0 if not listed)
void host_cpu_vendor(char out[13]);    // leaf 0

// The CPU vendor string the guest sees (CPUID leaf 0 run in a throw-away guest).
void guest_cpu_vendor(char out[13]);

#endif  // ZXHV_TESTS_ZIRCON_FIXTURE_H_
