// zxhv: a VCPU on KVM (Zircon's x86 Vcpu, spec §1.3-1.7, §3.4-3.7): creation and initial state,
// the resume loop with its exit handlers, state access bridged to Zircon's semantics, interrupt
// injection and kicks.
#ifndef ZXHV_ARCH_X86_VCPU_H_
#define ZXHV_ARCH_X86_VCPU_H_

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zxhv.h>

#include "arch/x86/x2apic.h"
#include "hv/interrupt_tracker.h"

struct guest;
struct trap;

// What KVM still has to finish of the last exit before the VCPU's state is consistent (KVM
// completes an IO or MMIO access on the next KVM_RUN; host-kvm.md, design-notes.md).
enum x86_pending {
    PENDING_NONE,
    PENDING_IO_IN,       // the data area holds the value the IN will load
    PENDING_IO_OUT,
    PENDING_MMIO_READ,   // regs_at_exit restores every GPR but the one loaded, unless supplied
    PENDING_MMIO_WRITE,
    PENDING_MSR,         // an MSR access user space answered
};

struct x86_vcpu {
    struct guest* guest;  // not a reference: the VCPU object holds one
    uint32_t index;       // APIC ID (VPID - 1)
    int fd;
    struct kvm_run* run;
    size_t run_size;
    bool sync_regs;  // KVM_CAP_SYNC_REGS: registers travel in |run|, no ioctl needed
    struct interrupt_tracker interrupts;
    struct x2apic apic;

    // Owned by the VCPU's thread.
    enum x86_pending pending;
    bool mem_value_supplied;
    struct kvm_regs regs_at_exit;
    zxhv_mem_access_t last_mem;
    bool last_mem_valid;
    struct trap* bell_retry;  // a doorbell to deliver before running again (a reference)
    uint64_t bell_retry_gpa;

    // Cross-thread kick protocol: |lock| guards |in_resume| so a signal is only ever sent to a
    // thread that is inside zx_vcpu_resume (and therefore alive).
    pthread_mutex_t lock;
    pthread_t thread;
    bool in_resume;
    atomic_bool cancel;       // zx_vcpu_kick: the resume returns ZX_ERR_CANCELED
    atomic_bool needs_entry;  // something for the loop to look at (interrupt or kick)
};

// Creates the KVM VCPU |kvm_id| of |guest| with Zircon's initial state for VPID |index| + 1
// (64-bit with paging for the first, real mode with CS.base = entry for others, spec §3.4) and
// the CPUID of spec §3.9. Must run on the thread that will resume it.
// Errors: ZX_ERR_NO_MEMORY, ZX_ERR_NO_RESOURCES, ZX_ERR_NOT_SUPPORTED (KVM refused the state).
zx_status_t x86_vcpu_init(struct x86_vcpu* v, struct guest* guest, uint32_t index,
                          uint32_t kvm_id, uint64_t entry);
void x86_vcpu_destroy(struct x86_vcpu* v);

// Runs the VCPU until a packet is ready (ZX_OK, *packet filled) or an error. May block (HLT,
// a full BELL trap).
zx_status_t x86_vcpu_resume(struct x86_vcpu* v, zx_port_packet_t* packet);

// Registers as zx_vcpu_read_state / zx_vcpu_write_state see them.
zx_status_t x86_vcpu_read_state(struct x86_vcpu* v, zx_vcpu_state_t* state);
zx_status_t x86_vcpu_write_state(struct x86_vcpu* v, const zx_vcpu_state_t* state);
// Supplies the value of a pending IN (ZX_VCPU_IO). Errors: ZX_ERR_INVALID_ARGS (size).
zx_status_t x86_vcpu_write_io(struct x86_vcpu* v, const zx_vcpu_io_t* io);

// Any thread: raise |vector| (< 256) / make the resume return ZX_ERR_CANCELED.
void x86_vcpu_interrupt(struct x86_vcpu* v, uint32_t vector);
void x86_vcpu_kick(struct x86_vcpu* v);

// The VCPU's thread: the last MEM access, and supplying a load's value.
zx_status_t x86_vcpu_mem_access(struct x86_vcpu* v, zxhv_mem_access_t* out);
zx_status_t x86_vcpu_mem_complete_read(struct x86_vcpu* v, uint64_t value);

#endif  // ZXHV_ARCH_X86_VCPU_H_
