// zxhv: VCPUs on KVM. The resume loop mirrors Zircon's vmexit handler (spec §3.5): it returns to
// the caller only with a packet or an error; everything else (HLT, interrupt windows, BELL
// writes, KVM's own exits) is handled here.
#define _GNU_SOURCE
#include "arch/x86/vcpu.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zircon/errors.h>

#include "arch/x86/decode.h"
#include "arch/x86/guest_walk.h"
#include "arch/x86/kvm.h"
#include "hv/bell_fast.h"
#include "hv/gpas.h"
#include "hv/trap_map.h"
#include "object/guest.h"

#define RFLAGS_RESERVED_ONE 0x2ull
#define RFLAGS_USER 0x244dd5ull  // X86_FLAGS_USER (spec §2.9)
#define GUEST_PHYS_LIMIT (1ull << 48)

// ---- Kicks: a real-time signal that interrupts KVM_RUN, with immediate_exit closing the race.

static int kick_signal = -1;
static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

// The kvm_run of the VCPU this thread is resuming, for the signal handler: setting
// immediate_exit there closes the window between the loop's last check and KVM_RUN.
static __thread struct kvm_run* volatile tls_run;

static void kick_handler(int sig) {
    (void)sig;
    int saved_errno = errno;  // a handler must leave errno as it found it
    struct kvm_run* run = tls_run;
    if (run != NULL) __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    errno = saved_errno;
}

// Takes the first real-time signal nobody handles, so an application's own signals are left
// alone. ZXHV_KICK_SIGNAL=N picks one explicitly.
static void setup_kick_signal(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sa.sa_flags = SA_RESTART;  // KVM_RUN still returns EINTR; the application's calls restart
    sigemptyset(&sa.sa_mask);
    const char* forced = getenv("ZXHV_KICK_SIGNAL");
    if (forced != NULL && forced[0] != '\0') {
        int sig = atoi(forced);
        if (sig > 0 && sig < NSIG && sigaction(sig, &sa, NULL) == 0) kick_signal = sig;
        return;
    }
    for (int sig = SIGRTMIN + 4; sig <= SIGRTMAX - 4; sig++) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) != 0) continue;
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL &&
            sigaction(sig, &sa, NULL) == 0) {
            kick_signal = sig;
            return;
        }
    }
}

// Makes the VCPU's thread leave KVM_RUN (or not enter it). Any thread.
static void poke(struct x86_vcpu* v) {
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&v->lock);
    if (v->in_resume && kick_signal > 0) pthread_kill(v->thread, kick_signal);
    pthread_mutex_unlock(&v->lock);
    interrupt_tracker_wake(&v->interrupts);
}

// ---- CPUID (spec §3.9)

static struct kvm_cpuid2* fetch_supported_cpuid(int kvm) {
    for (uint32_t n = 128; n <= 4096; n *= 2) {
        struct kvm_cpuid2* c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (c == NULL) return NULL;
        c->nent = n;
        if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0) return c;
        free(c);
        if (errno != E2BIG) return NULL;
    }
    return NULL;
}

// KVM's supported CPUID does not change: it is asked once per process (an ioctl and a 5 KiB
// buffer per VCPU otherwise). Each VCPU gets a copy to adjust, or NULL.
static pthread_mutex_t cpuid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvm_cpuid2* cpuid_cache;

static struct kvm_cpuid2* supported_cpuid(int kvm) {
    struct kvm_cpuid2* copy = NULL;
    pthread_mutex_lock(&cpuid_lock);
    if (cpuid_cache == NULL) cpuid_cache = fetch_supported_cpuid(kvm);
    if (cpuid_cache != NULL) {
        size_t size = sizeof(*cpuid_cache) + cpuid_cache->nent * sizeof(cpuid_cache->entries[0]);
        copy = malloc(size);
        if (copy != NULL) memcpy(copy, cpuid_cache, size);
    }
    pthread_mutex_unlock(&cpuid_lock);
    return copy;
}

static void adjust_cpuid(struct kvm_cpuid2* c, uint32_t index) {
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2* e = &c->entries[i];
        switch (e->function) {
            case 1:
                e->ebx = (e->ebx & 0x00ffffffu) | (index << 24);  // APIC ID
                e->ecx |= (1u << 31) | (1u << 21);                // HYPERVISOR, X2APIC
                e->ecx &= ~((1u << 5) | (1u << 15) | (1u << 3) | (1u << 8));  // VMX PDCM MONITOR TM2
                e->edx |= 1u << 11;                               // SEP
                e->edx &= ~((1u << 29) | (1u << 22));             // TM, ACPI
                break;
            case 5:
            case 6:
            case 0xa:
                e->eax = e->ebx = e->ecx = e->edx = 0;
                break;
            case 7:
                if (e->index == 0) {
                    e->ebx &= ~(1u << 25);  // Intel PT
                    e->edx &= ~(1u << 26);  // IBRS/IBPB
                }
                break;
            case 0xb:
                e->edx = index;
                break;
            case 0x80000001:
                e->ecx &= ~(1u << 2);  // SVM: no nested virtualization, as VMX above
                break;
            case 0x40000000:
                e->eax = 0x40000001;
                memcpy(&e->ebx, "KVMK", 4);
                memcpy(&e->ecx, "VMKV", 4);
                memcpy(&e->edx, "M\0\0\0", 4);
                break;
            case 0x40000001:
                e->eax = (1u << 0) | (1u << 1) | (1u << 3);  // CLOCKSOURCE, NOP_IO_DELAY, CLOCKSOURCE2
                e->ebx = e->ecx = e->edx = 0;
                break;
            default:
                break;
        }
    }
}

// ---- Initial state (spec §3.4)

static void segment(struct kvm_segment* s, uint64_t base, uint16_t selector, uint8_t type,
                    bool code_or_data) {
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->limit = 0xffff;
    s->selector = selector;
    s->type = type;
    s->s = code_or_data;
    s->present = 1;
}

static zx_status_t set_initial_state(int fd, bool bsp, uint64_t entry) {
    struct kvm_sregs sregs;
    if (ioctl(fd, KVM_GET_SREGS, &sregs) != 0) return ZX_ERR_NOT_SUPPORTED;
    if (bsp) {
        segment(&sregs.cs, 0, 0, 0xf, true);  // access rights 0x209f: code, L
        sregs.cs.l = 1;
        sregs.cr0 = 0x80000031;  // PG | NE | ET | PE
        sregs.cr4 = 0x20;        // PAE
        sregs.efer = 0xd01;      // NXE | LMA | LME | SCE, Zircon's host EFER
    } else {
        segment(&sregs.cs, entry, (uint16_t)(entry >> 4), 0xf, true);  // 0x9f, real mode
        sregs.cr0 = 0x30;  // NE | ET
        sregs.cr4 = 0;
        sregs.efer = 0x801;  // NXE | SCE: the host EFER without LME and LMA
    }
    sregs.cr3 = 0;
    segment(&sregs.ds, 0, 0, 3, true);  // 0x93
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    segment(&sregs.tr, 0, 0, 0xb, false);   // 0x8b
    segment(&sregs.ldt, 0, 0, 2, false);    // 0x82
    sregs.gdt.base = sregs.idt.base = 0;
    sregs.gdt.limit = sregs.idt.limit = 0xffff;
    if (ioctl(fd, KVM_SET_SREGS, &sregs) != 0) return ZX_ERR_NOT_SUPPORTED;
    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = bsp ? entry : 0;
    regs.rflags = RFLAGS_RESERVED_ONE;
    if (ioctl(fd, KVM_SET_REGS, &regs) != 0) return ZX_ERR_NOT_SUPPORTED;
    return ZX_OK;
}

zx_status_t x86_vcpu_init(struct x86_vcpu* v, struct guest* guest, uint32_t index,
                          uint32_t kvm_id, uint64_t entry) {
    memset(v, 0, sizeof(*v));
    v->guest = guest;
    v->index = index;
    v->fd = -1;
    pthread_once(&kick_once, setup_kick_signal);
    int kvm;
    zx_status_t status = kvm_system_fd(&kvm);
    if (status != ZX_OK) return status;
    int mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (mmap_size <= 0) return ZX_ERR_NOT_SUPPORTED;
    v->fd = ioctl(guest->vm_fd, KVM_CREATE_VCPU, (unsigned long)kvm_id);
    if (v->fd < 0) {
        return (errno == EMFILE || errno == ENFILE || errno == EINVAL) ? ZX_ERR_NO_RESOURCES
                                                                      : ZX_ERR_NO_MEMORY;
    }
    v->run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        close(v->fd);
        return ZX_ERR_NO_MEMORY;
    }
    v->run_size = (size_t)mmap_size;

    struct kvm_cpuid2* cpuid = supported_cpuid(kvm);
    status = ZX_ERR_NOT_SUPPORTED;
    if (cpuid != NULL) {
        adjust_cpuid(cpuid, index);
        if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) == 0) status = ZX_OK;
        free(cpuid);
    }
    if (status == ZX_OK) status = set_initial_state(v->fd, index == 0, entry);
    if (status != ZX_OK) {
        munmap(v->run, v->run_size);
        close(v->fd);
        return status;
    }
    // KVM_CHECK_EXTENSION is a system or VM ioctl: a VCPU fd refuses it.
    int sync = ioctl(guest->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    v->sync_regs = sync > 0 && (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                                   (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    if (v->sync_regs) v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;

    status = x2apic_init(&v->apic, index, v->fd, kick_signal);
    if (status != ZX_OK) {
        munmap(v->run, v->run_size);
        close(v->fd);
        return status;
    }
    interrupt_tracker_init(&v->interrupts);
    pthread_mutex_init(&v->lock, NULL);
    v->thread = pthread_self();
    atomic_init(&v->cancel, false);
    atomic_init(&v->needs_entry, false);
    // The kick must reach this thread inside KVM_RUN.
    if (kick_signal > 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, kick_signal);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
    return ZX_OK;
}

void x86_vcpu_destroy(struct x86_vcpu* v) {
    x2apic_destroy(&v->apic);
    if (v->bell_retry != NULL) trap_unref(v->bell_retry);
    interrupt_tracker_destroy(&v->interrupts);
    pthread_mutex_destroy(&v->lock);
    munmap(v->run, v->run_size);
    close(v->fd);
}

// ---- Register access. With KVM_CAP_SYNC_REGS the registers of the last exit are in |run| and
// changes travel with the next KVM_RUN; without it, plain ioctls. Before the first KVM_RUN the
// shared area holds nothing, so the first access loads it.


static zx_status_t load_regs(struct x86_vcpu* v, struct kvm_regs* regs, struct kvm_sregs* sregs) {
    if (v->sync_regs && (v->run->kvm_valid_regs & KVM_SYNC_X86_REGS) && v->run->s.regs.regs.rflags) {
        // rflags always has bit 1 set once KVM has stored registers.
        if (regs) *regs = v->run->s.regs.regs;
        if (sregs) *sregs = v->run->s.regs.sregs;
        return ZX_OK;
    }
    if (regs && ioctl(v->fd, KVM_GET_REGS, regs) != 0) return ZX_ERR_INTERNAL;
    if (sregs && ioctl(v->fd, KVM_GET_SREGS, sregs) != 0) return ZX_ERR_INTERNAL;
    return ZX_OK;
}

static zx_status_t store_regs(struct x86_vcpu* v, const struct kvm_regs* regs) {
    if (v->sync_regs && v->run->s.regs.regs.rflags) {
        v->run->s.regs.regs = *regs;
        v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return ZX_OK;
    }
    return ioctl(v->fd, KVM_SET_REGS, regs) == 0 ? ZX_OK : ZX_ERR_INTERNAL;
}

static int kvm_run_once(struct x86_vcpu* v) {
    int rc = ioctl(v->fd, KVM_RUN, 0);
    return rc < 0 ? -errno : rc;
}

// Lets KVM finish the access of the last exit without entering the guest, so the registers are
// those after the instruction (RIP past it), as Zircon shows them (spec §3.5).
static zx_status_t complete_pending(struct x86_vcpu* v) {
    if (v->pending == PENDING_NONE) return ZX_OK;
    enum x86_pending was = v->pending;
    v->pending = PENDING_NONE;
    for (int tries = 0; tries < 16; tries++) {
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        int rc = kvm_run_once(v);
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        // A kick or interrupt that came meanwhile set immediate_exit as well (after needs_entry):
        // clearing it lost the kick, and the next KVM_RUN ran a guest that might never exit.
        if (atomic_load(&v->needs_entry)) {
            __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        }
        if (rc == -EINTR || rc == -EAGAIN) break;
        if (rc < 0) return ZX_ERR_INTERNAL;
        // A split access asks for its next part: reads get zeros, writes go nowhere.
        if (v->run->exit_reason == KVM_EXIT_MMIO && !v->run->mmio.is_write) {
            memset(v->run->mmio.data, 0, sizeof(v->run->mmio.data));
        }
    }
    if (was == PENDING_MMIO_READ && !v->mem_value_supplied) {
        // Zircon leaves the loaded register as it was unless the VMM writes it.
        struct kvm_regs regs;
        zx_status_t status = load_regs(v, &regs, NULL);
        if (status != ZX_OK) return status;
        uint64_t rip = regs.rip, rflags = regs.rflags;
        regs = v->regs_at_exit;
        regs.rip = rip;
        regs.rflags = rflags;
        status = store_regs(v, &regs);
        if (status != ZX_OK) return status;
    }
    v->mem_value_supplied = false;
    return ZX_OK;
}

// ---- Interrupts (spec §3.7)

static bool exception_has_error_code(uint32_t vector) {
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

// Injects the highest pending vector if it can go now; otherwise asks KVM for an exit when the
// guest can take it.
static zx_status_t inject_interrupts(struct x86_vcpu* v) {
    struct kvm_run* run = v->run;
    run->request_interrupt_window = 0;
    if (!interrupt_tracker_pending(&v->interrupts)) return ZX_OK;
    zx_status_t status = complete_pending(v);
    if (status != ZX_OK) return status;
    int vector = interrupt_tracker_pop(&v->interrupts);
    if (vector < 0) return ZX_OK;
    if (vector < 32) {
        struct kvm_vcpu_events events;
        if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &events) != 0) return ZX_ERR_INTERNAL;
        if (events.exception.injected || events.exception.pending) {
            interrupt_tracker_track(&v->interrupts, (uint32_t)vector, NULL);  // one at a time
            run->request_interrupt_window = 1;
            return ZX_OK;
        }
        events.exception.injected = 1;
        events.exception.nr = (uint8_t)vector;
        events.exception.has_error_code = exception_has_error_code((uint32_t)vector);
        events.exception.error_code = 0;
        events.flags = 0;
        if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &events) != 0) return ZX_ERR_INTERNAL;
    } else if (run->ready_for_interrupt_injection && run->if_flag) {
        struct kvm_interrupt irq = {.irq = (uint32_t)vector};
        if (ioctl(v->fd, KVM_INTERRUPT, &irq) != 0) {
            interrupt_tracker_track(&v->interrupts, (uint32_t)vector, NULL);
            run->request_interrupt_window = 1;
            return ZX_OK;
        }
    } else {
        interrupt_tracker_track(&v->interrupts, (uint32_t)vector, NULL);
    }
    if (interrupt_tracker_pending(&v->interrupts)) run->request_interrupt_window = 1;
    return ZX_OK;
}

void x86_vcpu_interrupt(struct x86_vcpu* v, uint32_t vector) {
    // A vector already pending is already known to the VCPU's thread (whoever set it poked it).
    // Poking again only makes the next KVM_RUN return at once: a stream of such calls kept a
    // guest that could not take the vector (IF clear) from running at all.
    bool woke_waiter;
    if (!interrupt_tracker_track(&v->interrupts, vector, &woke_waiter)) return;
    // A thread asleep in HLT was woken by the tracker and looks at the vectors before it enters
    // the guest again: a kick signal would only land on it later as a stray KVM_RUN exit.
    if (woke_waiter) return;
    atomic_store(&v->needs_entry, true);
    poke(v);
}

void x86_vcpu_kick(struct x86_vcpu* v) {
    atomic_store(&v->cancel, true);
    atomic_store(&v->needs_entry, true);
    poke(v);
}

// ---- Exits

static zx_time_t monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (zx_time_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// RDMSR/WRMSR that KVM sent to user space: the x2APIC and TSC deadline (spec §3.7), anything
// else #GP as on Zircon. Returns ZX_ERR_NEXT to keep running, ZX_OK with a packet, or an error.
static zx_status_t handle_msr(struct x86_vcpu* v, zx_port_packet_t* packet) {
    struct kvm_run* run = v->run;
    uint32_t msr = run->msr.index;
    bool ours = (msr >= X2APIC_MSR_BASE && msr < X2APIC_MSR_END) || msr == MSR_IA32_TSC_DEADLINE;
    enum x2apic_result r = X2APIC_GP;
    if (ours && run->exit_reason == KVM_EXIT_X86_RDMSR) {
        uint64_t value = 0;
        r = x2apic_read(&v->apic, msr, &value);
        run->msr.data = value;
    } else if (ours) {
        r = x2apic_write(&v->apic, &v->interrupts, msr, run->msr.data, packet);
    }
    run->msr.error = r == X2APIC_GP ? 1 : 0;
    v->pending = PENDING_MSR;
    switch (r) {
        case X2APIC_PACKET:
            return ZX_OK;
        case X2APIC_UNSUPPORTED:
            return ZX_ERR_NOT_SUPPORTED;
        case X2APIC_INVALID_ARGS:
            return ZX_ERR_INVALID_ARGS;
        default:
            return ZX_ERR_NEXT;
    }
}

static zx_status_t handle_io(struct x86_vcpu* v, zx_port_packet_t* packet) {
    struct kvm_run* run = v->run;
    // String and REP IO are not supported (spec §3.5). KVM batches some (count > 1) and sends
    // others one element per exit, so the instruction itself is looked at.
    if (run->io.count != 1) return ZX_ERR_NOT_SUPPORTED;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (load_regs(v, &regs, &sregs) != ZX_OK) return ZX_ERR_INTERNAL;
    struct guest_code code;
    guest_code_around(v->guest->gpas, &sregs, regs.rip, &code);
    if (guest_io_is_string(&code, &sregs)) {
        v->pending = run->io.direction == KVM_EXIT_IO_IN ? PENDING_IO_IN : PENDING_IO_OUT;
        return ZX_ERR_NOT_SUPPORTED;
    }
    struct trap* trap;
    if (trap_map_find(&v->guest->traps, true, run->io.port, &trap) != ZX_OK) {
        v->pending = run->io.direction == KVM_EXIT_IO_IN ? PENDING_IO_IN : PENDING_IO_OUT;
        return ZX_ERR_NOT_FOUND;
    }
    uint8_t* data = (uint8_t*)run + run->io.data_offset;
    memset(packet, 0, sizeof(*packet));
    packet->key = trap->key;
    packet->type = ZX_PKT_TYPE_GUEST_IO;
    packet->guest_io.port = run->io.port;
    packet->guest_io.access_size = run->io.size;
    packet->guest_io.input = run->io.direction == KVM_EXIT_IO_IN;
    trap_unref(trap);
    if (run->io.direction == KVM_EXIT_IO_OUT) {
        memcpy(packet->guest_io.data, data, run->io.size);
        v->pending = PENDING_IO_OUT;
    } else {
        // Until ZX_VCPU_IO supplies a value, the IN leaves RAX as it was, but a 32-bit IN
        // clears it, as Zircon does (spec §3.5).
        uint64_t rax = run->io.size == 4 ? 0 : regs.rax;
        memcpy(data, &rax, run->io.size);
        v->pending = PENDING_IO_IN;
    }
    return ZX_OK;
}

static zx_status_t fill_mem_packet(struct x86_vcpu* v, const struct trap* trap, uint64_t gpa,
                                   zx_port_packet_t* packet) {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (load_regs(v, &regs, &sregs) != ZX_OK) return ZX_ERR_INTERNAL;
    memset(packet, 0, sizeof(*packet));
    packet->key = trap->key;
    packet->type = ZX_PKT_TYPE_GUEST_MEM;
    packet->guest_mem.addr = gpa;
    packet->guest_mem.default_operand_size = guest_code_size(&sregs) == 2 ? 2 : 4;
    // KVM reports the access but not the instruction. RIP is at the instruction for a load and
    // past it for a store (KVM's emulator writes RIP back early for stores): look at RIP first,
    // then for an instruction that ends there.
    struct vm_aspace* gpas = v->guest->gpas;
    struct guest_access access = {
        .gpa = gpa,
        .size = v->run->mmio.len,
        .data = v->run->mmio.is_write ? v->run->mmio.data : NULL,
    };
    struct guest_code code;
    guest_code_around(gpas, &sregs, regs.rip, &code);
    uint8_t bytes[X86_MAX_INST_LEN];
    size_t len = guest_instruction_at(gpas, &sregs, &regs, &code, regs.rip, &access, bytes);
    if (len == 0) {
        len = guest_find_instruction_before(gpas, &sregs, &regs, &code, regs.rip, &access, bytes);
    }
    if (len == 0) return ZX_ERR_NOT_FOUND;  // the instruction is not in guest RAM (spec §3.5)
    packet->guest_mem.inst_len = (uint8_t)len;
    memcpy(packet->guest_mem.inst_buf, bytes, len);
    v->regs_at_exit = regs;
    return ZX_OK;
}

// Returns ZX_ERR_NEXT to keep running, ZX_OK with a packet, or an error.
// Queues the packet for a doorbell taken through an exit, after those the trap's fast paths have
// already absorbed, so that packets leave in the order the guest wrote. May block (trap full).
static zx_status_t queue_bell(struct x86_vcpu* v, struct trap* trap, uint64_t gpa) {
    zx_status_t status = bell_fast_flush(trap, &v->cancel);
    if (status != ZX_OK) return status;
    return trap_queue_bell(trap, gpa, &v->cancel);
}

static zx_status_t handle_mmio(struct x86_vcpu* v, zx_port_packet_t* packet) {
    struct kvm_run* run = v->run;
    uint64_t gpa = run->mmio.phys_addr;
    bool write = run->mmio.is_write;
    uint32_t len = run->mmio.len;
    v->pending = write ? PENDING_MMIO_WRITE : PENDING_MMIO_READ;
    if (!write && load_regs(v, &v->regs_at_exit, NULL) != ZX_OK) return ZX_ERR_INTERNAL;
    struct trap* trap;
    if (trap_map_find(&v->guest->traps, false, gpa, &trap) != ZX_OK) {
        if (gpa >= GUEST_PHYS_LIMIT) return ZX_ERR_OUT_OF_RANGE;
        // Guest RAM whose memslot was being replaced (a split or merge on another thread) looks
        // like MMIO for a moment: do the access on the RAM itself.
        zx_status_t status = gpas_access(v->guest->gpas, gpa, run->mmio.data, len, write);
        if (status == ZX_OK) {
            v->pending = PENDING_NONE;
            return ZX_ERR_NEXT;
        }
        return status;  // NOT_FOUND: no RAM there; ACCESS_DENIED: a store to read-only RAM
    }
    zx_status_t status;
    if (trap->kind == ZX_GUEST_TRAP_BELL) {
        if (!write) {
            status = ZX_ERR_NOT_SUPPORTED;
        } else {
            status = queue_bell(v, trap, gpa);
            if (status == ZX_OK) {
                v->pending = PENDING_NONE;  // the next KVM_RUN finishes the write
                status = ZX_ERR_NEXT;
            } else if (status == ZX_ERR_CANCELED) {
                // Kicked while the trap was full: deliver this doorbell on the next resume,
                // before the write completes, so it is never lost. The kick is used up.
                atomic_store(&v->cancel, false);
                v->bell_retry = trap;
                v->bell_retry_gpa = gpa;
                trap = NULL;
            }
        }
    } else {
        status = fill_mem_packet(v, trap, gpa, packet);
        if (status == ZX_OK) {
            v->last_mem.addr = gpa;
            v->last_mem.size = (uint8_t)len;
            v->last_mem.write = write;
            v->last_mem.data = 0;
            if (write) memcpy(&v->last_mem.data, run->mmio.data, len > 8 ? 8 : len);
            v->last_mem_valid = true;
            if (!write) memset(run->mmio.data, 0, sizeof(run->mmio.data));
        }
    }
    if (trap != NULL) trap_unref(trap);
    return status;
}

zx_status_t x86_vcpu_resume(struct x86_vcpu* v, zx_port_packet_t* packet) {
    pthread_mutex_lock(&v->lock);
    v->in_resume = true;
    pthread_mutex_unlock(&v->lock);
    tls_run = v->run;
    v->last_mem_valid = false;

    zx_status_t status = ZX_OK;
    if (v->bell_retry != NULL) {
        status = queue_bell(v, v->bell_retry, v->bell_retry_gpa);
        if (status != ZX_ERR_CANCELED) {
            trap_unref(v->bell_retry);
            v->bell_retry = NULL;
        }
        if (status == ZX_ERR_CANCELED) atomic_store(&v->cancel, false);
    }
    // A load nobody answered: finish it so the register keeps its value (spec §3.5).
    if (v->pending == PENDING_MMIO_READ && !v->mem_value_supplied) status = complete_pending(v);

    while (status == ZX_OK) {
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        atomic_store(&v->needs_entry, false);
        if (atomic_exchange(&v->cancel, false)) {
            status = ZX_ERR_CANCELED;
            break;
        }
        // Reading the clock costs a system call where the vDSO cannot (a VM's hpet clocksource):
        // only when the APIC timer is armed (only this thread arms it).
        if (v->apic.deadline != ZX_TIME_INFINITE) {
            x2apic_poll(&v->apic, &v->interrupts, monotonic_now());
        }
        status = inject_interrupts(v);
        if (status != ZX_OK) break;
        v->pending = PENDING_NONE;  // this KVM_RUN completes whatever was left
        v->mem_value_supplied = false;
        int rc = kvm_run_once(v);
        if (rc == -EINTR || rc == -EAGAIN) continue;
        if (rc == -EFAULT) {
            status = ZX_ERR_NOT_FOUND;  // RAM past the end of its VMO
            break;
        }
        if (rc < 0) {
            status = ZX_ERR_INTERNAL;
            break;
        }
        switch (v->run->exit_reason) {
            case KVM_EXIT_IO:
                status = handle_io(v, packet);
                if (status == ZX_OK) goto done;
                break;
            case KVM_EXIT_MMIO:
                status = handle_mmio(v, packet);
                if (status == ZX_OK) goto done;
                if (status == ZX_ERR_NEXT) status = ZX_OK;
                break;
            case KVM_EXIT_X86_RDMSR:
            case KVM_EXIT_X86_WRMSR:
                status = handle_msr(v, packet);
                if (status == ZX_OK) goto done;
                if (status == ZX_ERR_NEXT) status = ZX_OK;
                break;
            case KVM_EXIT_HLT:
                // HLT never returns to the caller: wait for a vector, the APIC timer or a kick
                // (spec §3.5).
                // A wake-up with nothing pending (a stale one) just waits again.
                while (!atomic_load(&v->cancel)) {
                    if (v->apic.deadline != ZX_TIME_INFINITE) {
                        x2apic_poll(&v->apic, &v->interrupts, monotonic_now());
                    }
                    if (interrupt_tracker_pending(&v->interrupts)) break;
                    interrupt_tracker_wait(&v->interrupts, v->apic.deadline);
                }
                break;
            case KVM_EXIT_IRQ_WINDOW_OPEN:
            case KVM_EXIT_INTR:
                break;
            case KVM_EXIT_FAIL_ENTRY:
                status = ZX_ERR_BAD_STATE;
                break;
            default:  // SHUTDOWN (triple fault), INTERNAL_ERROR, anything unknown
                status = ZX_ERR_NOT_SUPPORTED;
                break;
        }
    }
done:
    tls_run = NULL;
    pthread_mutex_lock(&v->lock);
    v->in_resume = false;
    pthread_mutex_unlock(&v->lock);
    return status;
}

// ---- State (spec §1.6, §1.7)

zx_status_t x86_vcpu_read_state(struct x86_vcpu* v, zx_vcpu_state_t* state) {
    zx_status_t status = complete_pending(v);
    if (status != ZX_OK) return status;
    struct kvm_regs regs;
    status = load_regs(v, &regs, NULL);
    if (status != ZX_OK) return status;
    state->rax = regs.rax;
    state->rcx = regs.rcx;
    state->rdx = regs.rdx;
    state->rbx = regs.rbx;
    state->rsp = regs.rsp;
    state->rbp = regs.rbp;
    state->rsi = regs.rsi;
    state->rdi = regs.rdi;
    state->r8 = regs.r8;
    state->r9 = regs.r9;
    state->r10 = regs.r10;
    state->r11 = regs.r11;
    state->r12 = regs.r12;
    state->r13 = regs.r13;
    state->r14 = regs.r14;
    state->r15 = regs.r15;
    state->rflags = regs.rflags & RFLAGS_USER;
    return ZX_OK;
}

zx_status_t x86_vcpu_write_state(struct x86_vcpu* v, const zx_vcpu_state_t* state) {
    zx_status_t status = complete_pending(v);
    if (status != ZX_OK) return status;
    struct kvm_regs regs;
    status = load_regs(v, &regs, NULL);
    if (status != ZX_OK) return status;
    regs.rax = state->rax;
    regs.rcx = state->rcx;
    regs.rdx = state->rdx;
    regs.rbx = state->rbx;
    regs.rsp = state->rsp;
    regs.rbp = state->rbp;
    regs.rsi = state->rsi;
    regs.rdi = state->rdi;
    regs.r8 = state->r8;
    regs.r9 = state->r9;
    regs.r10 = state->r10;
    regs.r11 = state->r11;
    regs.r12 = state->r12;
    regs.r13 = state->r13;
    regs.r14 = state->r14;
    regs.r15 = state->r15;
    // RFLAGS only when the reserved-one bit is set, and then only the user bits (spec §1.7).
    if (state->rflags & RFLAGS_RESERVED_ONE) {
        regs.rflags = (regs.rflags & ~RFLAGS_USER) | (state->rflags & RFLAGS_USER);
    }
    return store_regs(v, &regs);
}

zx_status_t x86_vcpu_write_io(struct x86_vcpu* v, const zx_vcpu_io_t* io) {
    if (io->access_size != 1 && io->access_size != 2 && io->access_size != 4) {
        return ZX_ERR_INVALID_ARGS;  // later Zircon's check (spec §1.7)
    }
    if (v->pending == PENDING_IO_IN && v->run->exit_reason == KVM_EXIT_IO &&
        io->access_size <= v->run->io.size) {
        // Still in KVM's hands: the value goes where KVM will take it from.
        uint8_t* data = (uint8_t*)v->run + v->run->io.data_offset;
        memcpy(data, io->data, io->access_size);
        return ZX_OK;
    }
    // Otherwise the first access_size bytes of RAX are written, as Zircon does (spec §1.7).
    zx_status_t status = complete_pending(v);
    if (status != ZX_OK) return status;
    struct kvm_regs regs;
    status = load_regs(v, &regs, NULL);
    if (status != ZX_OK) return status;
    memcpy(&regs.rax, io->data, io->access_size);
    return store_regs(v, &regs);
}

zx_status_t x86_vcpu_mem_access(struct x86_vcpu* v, zxhv_mem_access_t* out) {
    if (!v->last_mem_valid) return ZX_ERR_BAD_STATE;
    *out = v->last_mem;
    return ZX_OK;
}

zx_status_t x86_vcpu_mem_complete_read(struct x86_vcpu* v, uint64_t value) {
    if (!v->last_mem_valid || v->last_mem.write || v->pending != PENDING_MMIO_READ) {
        return ZX_ERR_BAD_STATE;
    }
    memcpy(v->run->mmio.data, &value, sizeof(value));
    v->mem_value_supplied = true;
    return ZX_OK;
}
