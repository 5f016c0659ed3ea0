// zxhv: the local x2APIC that Zircon emulated for each VCPU (spec §3.7): MSRs 0x800-0x8FF and
// IA32_TSC_DEADLINE reach user space (KVM_CAP_X86_USER_SPACE_MSR, kvm_vm_route_msrs) and are
// answered here. The timer runs on a host POSIX timer that signals the VCPU's thread.
#ifndef ZXHV_ARCH_X86_X2APIC_H_
#define ZXHV_ARCH_X86_X2APIC_H_

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <zircon/syscalls/port.h>
#include <zircon/types.h>

#include "hv/interrupt_tracker.h"

#define X2APIC_MSR_BASE 0x800u
#define X2APIC_MSR_END 0x900u
#define MSR_IA32_TSC_DEADLINE 0x6e0u

struct x2apic {
    uint32_t id;  // VPID - 1
    uint32_t lvt_timer;
    uint32_t initial_count;
    uint32_t divide_config;
    zx_time_t armed_at;    // when the count started (CLOCK_MONOTONIC ns)
    zx_time_t deadline;    // next expiry, or ZX_TIME_INFINITE
    zx_duration_t period;  // periodic mode, else 0
    timer_t host_timer;
    bool host_timer_ok;
    uint32_t tsc_khz;  // guest TSC frequency, for TSC-deadline mode (0: unknown)
    int vcpu_fd;       // to read the guest TSC
};

// Sets up the APIC of VCPU |id|; |signal| > 0 is sent to the calling thread when the timer fires.
// Errors: ZX_ERR_NO_RESOURCES (no host timer could be made for that signal).
zx_status_t x2apic_init(struct x2apic* apic, uint32_t id, int vcpu_fd, int signal);
void x2apic_destroy(struct x2apic* apic);

// Outcome of an MSR access.
enum x2apic_result {
    X2APIC_DONE,    // handled; *value holds a read's result
    X2APIC_GP,      // the guest gets #GP
    X2APIC_PACKET,  // an IPI or start-up request: *packet holds a GUEST_VCPU packet
    X2APIC_UNSUPPORTED,  // resume returns ZX_ERR_NOT_SUPPORTED (spec §3.7)
    X2APIC_INVALID_ARGS, // resume returns ZX_ERR_INVALID_ARGS (spec §3.8)
};

enum x2apic_result x2apic_read(struct x2apic* apic, uint32_t msr, uint64_t* value);
enum x2apic_result x2apic_write(struct x2apic* apic, struct interrupt_tracker* interrupts,
                                uint32_t msr, uint64_t value, zx_port_packet_t* packet);

// Tracks the timer's vector if it has expired by |now|, and re-arms a periodic timer.
void x2apic_poll(struct x2apic* apic, struct interrupt_tracker* interrupts, zx_time_t now);

#endif  // ZXHV_ARCH_X86_X2APIC_H_
