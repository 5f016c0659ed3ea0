// zxhv: x2APIC emulation (spec §3.7).
#define _GNU_SOURCE
#include "arch/x86/x2apic.h"

#include <errno.h>

#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <zircon/errors.h>

// Register offsets: MSR = 0x800 + (xAPIC offset >> 4).
enum {
    REG_ID = 0x02,
    REG_VERSION = 0x03,
    REG_TPR = 0x08,
    REG_EOI = 0x0b,
    REG_LDR = 0x0d,
    REG_SVR = 0x0f,
    REG_ISR0 = 0x10,
    REG_TMR0 = 0x18,
    REG_IRR0 = 0x20,
    REG_ESR = 0x28,
    REG_LVT_CMCI = 0x2f,
    REG_ICR = 0x30,
    REG_LVT_TIMER = 0x32,
    REG_LVT_THERMAL = 0x33,
    REG_LVT_PERF = 0x34,
    REG_LVT_LINT0 = 0x35,
    REG_LVT_LINT1 = 0x36,
    REG_LVT_ERROR = 0x37,
    REG_INITIAL_COUNT = 0x38,
    REG_CURRENT_COUNT = 0x39,
    REG_DCR = 0x3e,
    REG_SELF_IPI = 0x3f,
};

#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE(lvt) (((lvt) >> 17) & 3u)
#define TIMER_ONESHOT 0u
#define TIMER_PERIODIC 1u
#define TIMER_TSC_DEADLINE 2u
#define TIMER_MODE_RESERVED 3u

#define MSR_IA32_APIC_BASE 0x1bu
#define MSR_IA32_TIME_STAMP_COUNTER 0x10u
#define APIC_PHYS_BASE 0xfee00000u
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_X2APIC_ENABLE (1u << 10)
#define APIC_BASE_XAPIC_ENABLE (1u << 11)

// One MSR of the VCPU through KVM: |request| is KVM_GET_MSRS or KVM_SET_MSRS.
static bool kvm_msr(int vcpu_fd, unsigned long request, uint32_t index, uint64_t* data) {
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry entry;
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.entry.index = index;
    msrs.entry.data = *data;
    if (ioctl(vcpu_fd, request, &msrs) != 1) return false;
    *data = msrs.entry.data;
    return true;
}

static zx_time_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (zx_time_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

zx_status_t x2apic_init(struct x2apic* apic, uint32_t id, int vcpu_fd, int signal) {
    memset(apic, 0, sizeof(*apic));
    apic->id = id;
    apic->lvt_timer = LVT_MASKED;
    apic->deadline = ZX_TIME_INFINITE;
    apic->vcpu_fd = vcpu_fd;
    // IA32_APIC_BASE stays KVM's MSR (docs/host-differences.md §5.5), but KVM resets it to xAPIC
    // mode; REF showed the x2APIC enabled, with the BSP flag on VPID 1 (spec §3.7). Best effort:
    // a KVM that refuses keeps its own value (tests/x2apic_test.c checks it).
    uint64_t base = APIC_PHYS_BASE | APIC_BASE_XAPIC_ENABLE | APIC_BASE_X2APIC_ENABLE |
                    (id == 0 ? APIC_BASE_BSP : 0);
    kvm_msr(vcpu_fd, KVM_SET_MSRS, MSR_IA32_APIC_BASE, &base);
    int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
    apic->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
    if (signal > 0) {
        struct sigevent ev;
        memset(&ev, 0, sizeof(ev));
        ev.sigev_notify = SIGEV_THREAD_ID;
        ev.sigev_signo = signal;
        ev._sigev_un._tid = gettid();
        // EAGAIN is the kernel being short of memory for a moment: try again, a little later,
        // then fail the VCPU rather than give the guest an APIC timer that never fires.
        for (int attempt = 0; attempt < 5 && !apic->host_timer_ok; attempt++) {
            if (timer_create(CLOCK_MONOTONIC, &ev, &apic->host_timer) == 0) {
                apic->host_timer_ok = true;
            } else if (errno != EAGAIN) {
                break;
            } else {
                usleep(1000u << attempt);
            }
        }
        if (!apic->host_timer_ok) return ZX_ERR_NO_RESOURCES;
    }
    return ZX_OK;
}

void x2apic_destroy(struct x2apic* apic) {
    if (apic->host_timer_ok) timer_delete(apic->host_timer);
}

static void arm(struct x2apic* apic, zx_time_t deadline) {
    apic->deadline = deadline;
    if (!apic->host_timer_ok) return;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (deadline != ZX_TIME_INFINITE) {
        its.it_value.tv_sec = deadline / 1000000000;
        its.it_value.tv_nsec = deadline % 1000000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    }
    timer_settime(apic->host_timer, TIMER_ABSTIME, &its, NULL);
}

// One APIC timer tick is one nanosecond times the divider (a 1 GHz APIC bus).
static zx_duration_t count_to_ns(const struct x2apic* apic, uint64_t count) {
    uint32_t v = (apic->divide_config & 3u) | ((apic->divide_config >> 1) & 4u);
    uint64_t divisor = v == 7 ? 1 : 2ull << v;
    return (zx_duration_t)(count * divisor);
}

static void start_count(struct x2apic* apic) {
    apic->period = 0;
    if (apic->initial_count == 0 || LVT_TIMER_MODE(apic->lvt_timer) == TIMER_TSC_DEADLINE) {
        if (LVT_TIMER_MODE(apic->lvt_timer) != TIMER_TSC_DEADLINE) arm(apic, ZX_TIME_INFINITE);
        return;
    }
    zx_duration_t ns = count_to_ns(apic, apic->initial_count);
    if (LVT_TIMER_MODE(apic->lvt_timer) == TIMER_PERIODIC) apic->period = ns;
    apic->armed_at = now_ns();
    arm(apic, apic->armed_at + ns);
}

static uint64_t guest_tsc(const struct x2apic* apic) {
    uint64_t tsc = 0;
    return kvm_msr(apic->vcpu_fd, KVM_GET_MSRS, MSR_IA32_TIME_STAMP_COUNTER, &tsc) ? tsc : 0;
}

void x2apic_poll(struct x2apic* apic, struct interrupt_tracker* interrupts, zx_time_t now) {
    if (apic->deadline == ZX_TIME_INFINITE || now < apic->deadline) return;
    if (!(apic->lvt_timer & LVT_MASKED)) {
        interrupt_tracker_track(interrupts, apic->lvt_timer & 0xffu, NULL);
    }
    if (apic->period > 0) {
        zx_time_t next = apic->deadline + apic->period;
        if (next <= now) next = now + apic->period;  // we fell behind: don't fire in a burst
        arm(apic, next);
    } else {
        arm(apic, ZX_TIME_INFINITE);
    }
}

enum x2apic_result x2apic_read(struct x2apic* apic, uint32_t msr, uint64_t* value) {
    if (msr == MSR_IA32_TSC_DEADLINE) {
        *value = 0;
        return X2APIC_DONE;
    }
    uint32_t reg = msr - X2APIC_MSR_BASE;
    switch (reg) {
        case REG_ID:
            *value = apic->id;
            return X2APIC_DONE;
        case REG_VERSION:
            *value = 0x15u | (6u << 16);
            return X2APIC_DONE;
        case REG_SVR:
            *value = 0xff;
            return X2APIC_DONE;
        case REG_TPR:
        case REG_LDR:
        case REG_ESR:
        case REG_LVT_PERF:  // LVT_MONITOR in Zircon's names
            *value = 0;
            return X2APIC_DONE;
        case REG_LVT_LINT0:
        case REG_LVT_LINT1:
        case REG_LVT_THERMAL:
        case REG_LVT_CMCI:
        case REG_LVT_ERROR:
            *value = LVT_MASKED;
            return X2APIC_DONE;
        case REG_LVT_TIMER:
            *value = apic->lvt_timer;
            return X2APIC_DONE;
        // Beyond Zircon's list (docs/host-differences.md): the timer registers read back, so a
        // guest can calibrate and poll its timer.
        case REG_INITIAL_COUNT:
            *value = apic->initial_count;
            return X2APIC_DONE;
        case REG_DCR:
            *value = apic->divide_config;
            return X2APIC_DONE;
        case REG_CURRENT_COUNT: {
            // 0 in TSC-deadline mode, whose deadline is no count (Intel SDM vol. 3 §10.5.4.1).
            *value = 0;
            if (apic->deadline != ZX_TIME_INFINITE && apic->initial_count != 0 &&
                LVT_TIMER_MODE(apic->lvt_timer) != TIMER_TSC_DEADLINE) {
                zx_duration_t left = apic->deadline - now_ns();
                zx_duration_t per_tick = count_to_ns(apic, 1);
                if (left > 0) *value = (uint64_t)(left / per_tick);
            }
            return X2APIC_DONE;
        }
        default:
            if ((reg >= REG_ISR0 && reg < REG_ISR0 + 8) || (reg >= REG_TMR0 && reg < REG_TMR0 + 8) ||
                (reg >= REG_IRR0 && reg < REG_IRR0 + 8)) {
                *value = 0;
                return X2APIC_DONE;
            }
            return X2APIC_GP;
    }
}

// ICR writes become GUEST_VCPU packets (spec §3.7 handle_ipi).
static enum x2apic_result send_ipi(struct x2apic* apic, uint64_t icr, zx_port_packet_t* packet) {
    uint32_t vector = icr & 0xff;
    uint32_t delivery = (icr >> 8) & 7;
    bool logical = icr & (1u << 11);
    uint32_t shorthand = (icr >> 18) & 3;
    uint32_t dest = (uint32_t)(icr >> 32);
    if (logical) return X2APIC_UNSUPPORTED;
    uint64_t mask;
    switch (shorthand) {
        case 1:  // self
            mask = 1ull << apic->id;
            break;
        case 2:  // all including self
            mask = UINT64_MAX;
            break;
        case 3:  // all excluding self
            mask = UINT64_MAX & ~(1ull << apic->id);
            break;
        default:  // physical destination; 0xffffffff is the x2APIC broadcast
            mask = dest == UINT32_MAX ? UINT64_MAX : dest < 64 ? 1ull << dest : 0;
            break;
    }
    memset(packet, 0, sizeof(*packet));
    packet->type = ZX_PKT_TYPE_GUEST_VCPU;
    switch (delivery) {
        case 0:  // fixed
            packet->guest_vcpu.type = ZX_PKT_GUEST_VCPU_INTERRUPT;
            packet->guest_vcpu.interrupt.mask = mask;
            packet->guest_vcpu.interrupt.vector = (uint8_t)vector;
            return X2APIC_PACKET;
        case 5:  // INIT
            return X2APIC_DONE;
        case 6:  // STARTUP
            packet->guest_vcpu.type = ZX_PKT_GUEST_VCPU_STARTUP;
            packet->guest_vcpu.startup.id = dest;
            packet->guest_vcpu.startup.entry = (zx_gpaddr_t)vector << 12;
            return X2APIC_PACKET;
        default:
            return X2APIC_UNSUPPORTED;
    }
}

enum x2apic_result x2apic_write(struct x2apic* apic, struct interrupt_tracker* interrupts,
                                uint32_t msr, uint64_t value, zx_port_packet_t* packet) {
    if (msr == MSR_IA32_TSC_DEADLINE) {
        // Only allowed in TSC-deadline mode (spec §3.8); 0 disarms.
        if (LVT_TIMER_MODE(apic->lvt_timer) != TIMER_TSC_DEADLINE) return X2APIC_INVALID_ARGS;
        if (value == 0 || apic->tsc_khz == 0) {
            arm(apic, ZX_TIME_INFINITE);
            return X2APIC_DONE;
        }
        uint64_t tsc = guest_tsc(apic);
        zx_time_t now = now_ns();
        // In 128 bits: ticks * 10^6 overflows 64 bits for a deadline about two hours ahead, and
        // the wrapped product fired such a deadline early. One beyond 2^63 ns never comes.
        unsigned __int128 ns =
            value <= tsc ? 0 : (unsigned __int128)(value - tsc) * 1000000u / apic->tsc_khz;
        arm(apic, ns >= (unsigned __int128)(ZX_TIME_INFINITE - now) ? ZX_TIME_INFINITE
                                                                     : now + (zx_duration_t)ns);
        return X2APIC_DONE;
    }
    uint32_t reg = msr - X2APIC_MSR_BASE;
    switch (reg) {
        case REG_EOI:
        case REG_ESR:
            return value == 0 ? X2APIC_DONE : X2APIC_GP;
        case REG_TPR:
        case REG_SVR:
        case REG_LVT_LINT0:
        case REG_LVT_LINT1:
        case REG_LVT_ERROR:
        case REG_LVT_PERF:
        case REG_LVT_THERMAL:
        case REG_LVT_CMCI:
            // 32-bit registers: REF fails the resume when EDX is not 0 (spec §3.7, §3.10).
            return value > UINT32_MAX ? X2APIC_INVALID_ARGS : X2APIC_DONE;
        case REG_LVT_TIMER: {
            // As REF: EDX must be 0 and the reserved timer mode 3 is refused.
            if (value > UINT32_MAX || LVT_TIMER_MODE(value) == TIMER_MODE_RESERVED) {
                return X2APIC_INVALID_ARGS;
            }
            uint32_t old_mode = LVT_TIMER_MODE(apic->lvt_timer);
            apic->lvt_timer = (uint32_t)value;
            // Changing mode stops the timer; masking or changing the vector does not.
            if (LVT_TIMER_MODE(apic->lvt_timer) != old_mode) arm(apic, ZX_TIME_INFINITE);
            return X2APIC_DONE;
        }
        case REG_INITIAL_COUNT:
            if (value > UINT32_MAX) return X2APIC_INVALID_ARGS;
            apic->initial_count = (uint32_t)value;
            start_count(apic);
            return X2APIC_DONE;
        case REG_DCR:
            if (value > UINT32_MAX) return X2APIC_INVALID_ARGS;
            apic->divide_config = (uint32_t)value & 0xb;
            return X2APIC_DONE;
        case REG_SELF_IPI:
            interrupt_tracker_track(interrupts, (uint32_t)value & 0xff, NULL);
            return X2APIC_DONE;
        case REG_ICR:
            return send_ipi(apic, value, packet);
        default:
            return X2APIC_GP;
    }
}
