// zxhv run: the VMM core (vmm.h). Only the public API: <zircon/...> and <zxhv.h>.
//
// Threads: the main thread sets up, then waits for a stop signal; one thread per VCPU (a VCPU's
// calls must come from the thread that created it, spec §3.6); the doorbell port thread; the
// terminal's stdin poller. A run ends through request_stop(), which records the exit status,
// kicks every VCPU (its resume returns ZX_ERR_CANCELED) and wakes the main thread, which joins
// everything and cleans up.
#include "vmm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "dev_bell.h"
#include "dev_exit.h"
#include "dev_io.h"
#include "dev_legacy.h"
#include "dev_pit.h"
#include "dev_term.h"
#include "dev_uart.h"
#include "dev_virtio_con.h"
#include "loader.h"
#include "platform.h"
#include "stats.h"

// Trap keys, so that a packet says which trap sent it.
#define KEY_IO 0x696f0000u
#define KEY_MMIO 0x6d6d696fu
#define KEY_BELL 0x62656c6cu

// The signal that wakes the main thread when the run ends.
#define SIG_WAKE SIGUSR1

struct vmm;

struct vcpu {
    struct vmm* vmm;
    unsigned id;     // index = creation order = APIC ID
    uint64_t entry;  // guest physical entry passed to zx_vcpu_create
    pthread_t thread;
    // Guarded by vmm->mu.
    bool spawned;      // the thread exists and must be joined
    bool create_done;  // zx_vcpu_create (and, for VCPU 0, the boot registers) finished
    zx_handle_t handle;  // valid from create_done to the end of vmm_run, if creation succeeded
    // Owned by the VCPU's thread until it is joined.
    struct vcpu_stats stats;
    uint64_t exits;
    char last_exit[64];  // what the last packet was, for error messages
};

struct vmm {
    const struct vmm_options* opts;
    pthread_t main_thread;
    zx_handle_t ram_vmo, guest, guest_vmar;
    uint8_t* ram;
    struct load_result boot;

    struct term term;
    struct io_bus bus;
    struct uart uart;
    struct pit pit;
    struct legacy legacy;
    struct exit_dev exit_dev;
    struct virtio_con con;
    struct bell con_bell;  // the console's doorbell page and its port thread

    // Held across a VCPU's creation, so VCPUs are created one at a time, in id order: the
    // library gives the i-th created VCPU APIC ID i (vcpu_create.md, VPIDs).
    pthread_mutex_t create_mu;
    pthread_mutex_t mu;    // guards the fields marked in struct vcpu, started, status
    pthread_cond_t created;  // signalled when a VCPU's create_done is set
    unsigned started;      // VCPUs spawned so far (the next id to start)
    int status;            // the exit status, set by the first request_stop
    atomic_bool stopping;  // set (under mu) by the first request_stop

    struct vcpu vcpus[PLAT_MAX_CPUS];
};

static int64_t now_ns(void) { return zx_clock_get_monotonic(); }

static void trace(const struct vmm* vmm, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(const struct vmm* vmm, const char* fmt, ...) {
    if (!vmm->opts->trace)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "zxhv: trace: %s\n", line);
}

// Ends the run with |status| (the first caller's status wins): kicks every VCPU and wakes the
// main thread. May be called on any thread, any number of times.
static void request_stop(struct vmm* vmm, int status) {
    pthread_mutex_lock(&vmm->mu);
    if (!atomic_load(&vmm->stopping)) {
        vmm->status = status;
        atomic_store(&vmm->stopping, true);
    }
    for (unsigned i = 0; i < vmm->started; i++)
        if (vmm->vcpus[i].handle != ZX_HANDLE_INVALID)
            zx_vcpu_kick(vmm->vcpus[i].handle);
    pthread_mutex_unlock(&vmm->mu);
    pthread_kill(vmm->main_thread, SIG_WAKE);
}

static bool stopping(struct vmm* vmm) { return atomic_load(&vmm->stopping); }

// --- devices' callbacks ------------------------------------------------------------------------

static void on_guest_exit(void* ctx, uint8_t status) {
    struct vmm* vmm = ctx;
    trace(vmm, "exit port: status %u", status);
    request_stop(vmm, status);
}

static void on_guest_reset(void* ctx) {
    struct vmm* vmm = ctx;
    fprintf(stderr, "zxhv: the guest asked for a reset; the run ends\n");
    request_stop(vmm, 0);
}

// --- packets ---------------------------------------------------------------------------------

static void vcpu_fail(struct vcpu* v, const char* call, zx_status_t st) {
    fprintf(stderr, "zxhv: vcpu %u: %s: %s\n", v->id, call, zx_status_get_string(st));
    request_stop(v->vmm, VMM_EXIT_ERROR);
}

static enum exit_kind handle_io(struct vcpu* v, const zx_packet_guest_io_t* io) {
    struct vmm* vmm = v->vmm;
    const char* owner = io_bus_owner(&vmm->bus, io->port);
    snprintf(v->last_exit, sizeof(v->last_exit), "io %s port 0x%x", io->input ? "in" : "out",
             io->port);
    if (io->input) {
        uint32_t value = io_bus_in(&vmm->bus, io->port, io->access_size);
        zx_vcpu_io_t answer = {.access_size = io->access_size, .u32 = value};
        trace(vmm, "vcpu%u io in port 0x%x size %u data 0x%x (%s)", v->id, io->port, io->access_size,
              value, owner ? owner : "unknown");
        zx_status_t st = zx_vcpu_write_state(v->handle, ZX_VCPU_IO, &answer, sizeof(answer));
        if (st != ZX_OK)
            vcpu_fail(v, "write_state(ZX_VCPU_IO)", st);
    } else {
        uint32_t value = io->u32 & io_size_mask(io->access_size);
        trace(vmm, "vcpu%u io out port 0x%x size %u data 0x%x (%s)", v->id, io->port, io->access_size,
              value, owner ? owner : "unknown");
        io_bus_out(&vmm->bus, io->port, io->access_size, value);
    }
    return EXIT_IO;
}

// MEM packets come only from the virtio-console register page; the library decodes the access
// (zxhv_vcpu_mem_access) so the VMM needs no x86 decoder.
static enum exit_kind handle_mem(struct vcpu* v, const zx_packet_guest_mem_t* mem) {
    struct vmm* vmm = v->vmm;
    zxhv_mem_access_t a;
    snprintf(v->last_exit, sizeof(v->last_exit), "mem 0x%llx", (unsigned long long)mem->addr);
    zx_status_t st = zxhv_vcpu_mem_access(v->handle, &a);
    if (st != ZX_OK) {
        vcpu_fail(v, "zxhv_vcpu_mem_access", st);
        return EXIT_MEM;
    }
    bool ours = a.addr >= PLAT_VIRTIO_CON_BASE && a.addr - PLAT_VIRTIO_CON_BASE < PLAT_VIRTIO_CON_SIZE;
    uint64_t offset = a.addr - PLAT_VIRTIO_CON_BASE;
    if (a.write) {
        trace(vmm, "vcpu%u mem write addr 0x%llx size %u data 0x%llx", v->id, (unsigned long long)a.addr,
              a.size, (unsigned long long)a.data);
        if (ours)
            virtio_con_mmio_write(&vmm->con, offset, a.size, a.data);
        return EXIT_MEM;
    }
    uint64_t value = ours ? virtio_con_mmio_read(&vmm->con, offset, a.size) : ~0ull;
    trace(vmm, "vcpu%u mem read addr 0x%llx size %u data 0x%llx", v->id, (unsigned long long)a.addr,
          a.size, (unsigned long long)value);
    st = zxhv_vcpu_mem_complete_read(v->handle, value);
    if (st != ZX_OK)
        vcpu_fail(v, "zxhv_vcpu_mem_complete_read", st);
    return EXIT_MEM;
}

static void* vcpu_main(void* arg);

// Starts VCPU |id| at |entry| (a STARTUP IPI, or the boot VCPU) on a new thread and waits until
// it has been created. Refuses (with a note) ids out of range, already started, or out of order.
// Blocks while another VCPU is being created.
static void start_vcpu(struct vmm* vmm, uint64_t id, uint64_t entry) {
    pthread_mutex_lock(&vmm->create_mu);
    pthread_mutex_lock(&vmm->mu);
    const char* refused = NULL;
    if (stopping(vmm))
        refused = "the run is ending";
    else if (id >= vmm->opts->cpus)
        refused = "beyond --cpus";
    else if (id < vmm->started)
        refused = "already started";
    else if (id != vmm->started)
        refused = "out of order (VCPUs start in id order)";
    if (refused) {
        bool loud = id > vmm->started && id < vmm->opts->cpus && !stopping(vmm);
        pthread_mutex_unlock(&vmm->mu);
        pthread_mutex_unlock(&vmm->create_mu);
        trace(vmm, "startup of vcpu %llu at 0x%llx ignored: %s", (unsigned long long)id,
              (unsigned long long)entry, refused);
        if (loud)  // a guest bug worth seeing even without --trace
            fprintf(stderr, "zxhv: startup of vcpu %llu ignored: %s\n", (unsigned long long)id,
                    refused);
        return;
    }
    struct vcpu* v = &vmm->vcpus[id];
    v->entry = entry;
    int err = pthread_create(&v->thread, NULL, vcpu_main, v);
    if (err == 0) {
        v->spawned = true;
        vmm->started++;
        while (!v->create_done)
            pthread_cond_wait(&vmm->created, &vmm->mu);
    }
    pthread_mutex_unlock(&vmm->mu);
    pthread_mutex_unlock(&vmm->create_mu);
    if (err != 0) {
        fprintf(stderr, "zxhv: vcpu %llu: thread: %s\n", (unsigned long long)id, strerror(err));
        request_stop(vmm, VMM_EXIT_ERROR);
    }
}

// GUEST_VCPU packets: the guest wrote its x2APIC ICR (spec §3.7).
static enum exit_kind handle_vcpu_packet(struct vcpu* v, const zx_packet_guest_vcpu_t* p) {
    struct vmm* vmm = v->vmm;
    if (p->type == ZX_PKT_GUEST_VCPU_STARTUP) {
        snprintf(v->last_exit, sizeof(v->last_exit), "vcpu startup %llu",
                 (unsigned long long)p->startup.id);
        trace(vmm, "vcpu%u startup id %llu entry 0x%llx", v->id, (unsigned long long)p->startup.id,
              (unsigned long long)p->startup.entry);
        start_vcpu(vmm, p->startup.id, p->startup.entry);
        return EXIT_VCPU;
    }
    if (p->type != ZX_PKT_GUEST_VCPU_INTERRUPT) {
        trace(vmm, "vcpu%u vcpu packet of unknown type %u", v->id, p->type);
        return EXIT_OTHER;
    }
    snprintf(v->last_exit, sizeof(v->last_exit), "vcpu interrupt 0x%x", p->interrupt.vector);
    trace(vmm, "vcpu%u interrupt mask 0x%llx vector 0x%x", v->id,
          (unsigned long long)p->interrupt.mask, p->interrupt.vector);
    zx_handle_t targets[PLAT_MAX_CPUS];
    unsigned n = 0;
    pthread_mutex_lock(&vmm->mu);
    for (unsigned i = 0; i < vmm->started && i < 64; i++)
        if ((p->interrupt.mask >> i) & 1 && vmm->vcpus[i].handle != ZX_HANDLE_INVALID)
            targets[n++] = vmm->vcpus[i].handle;
    pthread_mutex_unlock(&vmm->mu);
    for (unsigned i = 0; i < n; i++)
        zx_vcpu_interrupt(targets[i], p->interrupt.vector);  // any thread may (spec §1.5)
    return EXIT_VCPU;
}

static enum exit_kind handle_packet(struct vcpu* v, const zx_port_packet_t* pkt) {
    switch (pkt->type) {
    case ZX_PKT_TYPE_GUEST_IO:
        return handle_io(v, &pkt->guest_io);
    case ZX_PKT_TYPE_GUEST_MEM:
        return handle_mem(v, &pkt->guest_mem);
    case ZX_PKT_TYPE_GUEST_VCPU:
        return handle_vcpu_packet(v, &pkt->guest_vcpu);
    default:
        snprintf(v->last_exit, sizeof(v->last_exit), "packet type %u", pkt->type);
        trace(v->vmm, "vcpu%u unexpected packet type %u", v->id, pkt->type);
        return EXIT_OTHER;
    }
}

// --- VCPU threads ----------------------------------------------------------------------------

// One line on why the VCPU stopped, with what the API can tell of where: the general registers
// (zx_vcpu_state_t has no RIP) and the last exit handled.
static void report_resume_error(struct vcpu* v, zx_status_t st) {
    zx_vcpu_state_t s;
    char regs[128] = "registers unavailable";
    if (zx_vcpu_read_state(v->handle, ZX_VCPU_STATE, &s, sizeof(s)) == ZX_OK)
        snprintf(regs, sizeof(regs), "rsp 0x%llx, rax 0x%llx, rflags 0x%llx",
                 (unsigned long long)s.rsp, (unsigned long long)s.rax,
                 (unsigned long long)s.rflags);
    fprintf(stderr, "zxhv: vcpu %u: resume: %s (%s; after %llu exits%s%s)\n", v->id,
            zx_status_get_string(st), regs, (unsigned long long)v->exits,
            v->exits ? ", the last " : "", v->exits ? v->last_exit : "");
}

static void run_vcpu(struct vcpu* v) {
    struct vmm* vmm = v->vmm;
    zx_port_packet_t pkt;
    while (!stopping(vmm)) {
        int64_t entered = now_ns();
        zx_status_t st = zx_vcpu_resume(v->handle, &pkt);
        int64_t exited = now_ns();
        if (st != ZX_OK)
            v->stats.guest_ns += (uint64_t)(exited - entered);
        if (st == ZX_ERR_CANCELED)
            continue;  // a kick: the loop condition says whether the run is ending
        if (st != ZX_OK) {
            report_resume_error(v, st);
            request_stop(vmm, VMM_EXIT_ERROR);
            return;
        }
        enum exit_kind kind = handle_packet(v, &pkt);
        v->exits++;
        vcpu_stats_record(&v->stats, kind, (uint64_t)(exited - entered),
                          (uint64_t)(now_ns() - exited));
    }
}

static void* vcpu_main(void* arg) {
    struct vcpu* v = arg;
    struct vmm* vmm = v->vmm;
    int64_t start = now_ns();
    zx_handle_t h = ZX_HANDLE_INVALID;
    const char* call = "create";
    zx_status_t st = zx_vcpu_create(vmm->guest, 0, v->entry, &h);
    if (st == ZX_OK && v->id == 0) {  // the boot VCPU gets the loader's registers
        call = "write_state";
        st = zx_vcpu_write_state(h, ZX_VCPU_STATE, &vmm->boot.regs, sizeof(vmm->boot.regs));
        if (st != ZX_OK) {
            zx_handle_close(h);
            h = ZX_HANDLE_INVALID;
        }
    }
    pthread_mutex_lock(&vmm->mu);
    v->handle = h;
    v->create_done = true;
    pthread_cond_broadcast(&vmm->created);
    pthread_mutex_unlock(&vmm->mu);
    if (st != ZX_OK) {
        vcpu_fail(v, call, st);
        return NULL;
    }
    trace(vmm, "vcpu%u created, entry 0x%llx", v->id, (unsigned long long)v->entry);
    run_vcpu(v);
    v->stats.wall_ns = (uint64_t)(now_ns() - start);
    return NULL;
}

// --- set-up and tear-down --------------------------------------------------------------------

static int fail(const char* what, zx_status_t st) {
    fprintf(stderr, "zxhv: %s: %s\n", what, zx_status_get_string(st));
    return -1;
}

// Guest RAM: one VMO, mapped into this process so the loader and the devices can reach it.
static int setup_ram(struct vmm* vmm) {
    uint64_t size = vmm->opts->mem_size;
    zx_status_t st = zx_vmo_create(size, 0, &vmm->ram_vmo);
    if (st != ZX_OK)
        return fail("guest RAM: zx_vmo_create", st);
    zx_vaddr_t addr;
    st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmm->ram_vmo, 0,
                     size, &addr);
    if (st != ZX_OK)
        return fail("guest RAM: zx_vmar_map", st);
    vmm->ram = (uint8_t*)addr;
    return 0;
}

static int load(struct vmm* vmm) {
    const struct vmm_options* o = vmm->opts;
    struct load_options lo = {.path = o->image, .cmdline = o->cmdline, .initrd = o->initrd,
                              .flat = o->flat, .flat_addr = o->flat_addr, .cpus = o->cpus};
    char err[256] = "";
    if (load_image(&lo, vmm->ram, o->mem_size, &vmm->boot, err, sizeof(err)) != 0) {
        fprintf(stderr, "zxhv: %s\n", err[0] ? err : "cannot load the image");
        return -1;
    }
    static const char* const formats[] = {"flat", "ELF64", "bzImage", "vmlinux"};
    unsigned f = (unsigned)vmm->boot.format;
    trace(vmm, "loaded %s: %s, entry 0x%llx, end 0x%llx", o->image,
          f < sizeof(formats) / sizeof(formats[0]) ? formats[f] : "?",
          (unsigned long long)vmm->boot.entry, (unsigned long long)vmm->boot.image_end);
    return 0;
}

// The guest, with RAM at guest physical 0.
static int setup_guest(struct vmm* vmm) {
    zx_handle_t root = ZX_HANDLE_INVALID, hv = ZX_HANDLE_INVALID;
    zx_status_t st = zxhv_root_resource_get(&root);
    if (st != ZX_OK)
        return fail("zxhv_root_resource_get", st);
    st = zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "zxhv", 4, &hv);
    zx_handle_close(root);
    if (st != ZX_OK)
        return fail("zx_resource_create", st);
    st = zx_guest_create(hv, 0, &vmm->guest, &vmm->guest_vmar);
    zx_handle_close(hv);
    if (st == ZX_ERR_NOT_SUPPORTED) {
        fprintf(stderr, "zxhv: no usable KVM (zx_guest_create: %s): is /dev/kvm there and "
                        "read-write?\n", zx_status_get_string(st));
        return -1;
    }
    if (st != ZX_OK)
        return fail("zx_guest_create", st);
    zx_vaddr_t gpa;
    st = zx_vmar_map(vmm->guest_vmar,
                     ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                     PLAT_RAM_BASE, vmm->ram_vmo, 0, vmm->opts->mem_size, &gpa);
    if (st != ZX_OK)
        return fail("guest RAM: zx_vmar_map into the guest", st);
    return 0;
}

static int setup_devices(struct vmm* vmm) {
    if (io_bus_init(&vmm->bus) != 0 || uart_attach(&vmm->uart, &vmm->term, &vmm->bus) != 0 ||
        pit_attach(&vmm->pit, &vmm->bus) != 0 ||
        legacy_attach(&vmm->legacy, on_guest_reset, vmm, &vmm->bus) != 0 ||
        exit_dev_attach(&vmm->exit_dev, on_guest_exit, vmm, &vmm->bus) != 0) {
        fprintf(stderr, "zxhv: cannot set up the IO devices\n");
        return -1;
    }
    struct guest_mem mem = {.base = vmm->ram, .size = vmm->opts->mem_size};
    virtio_con_init(&vmm->con, mem, &vmm->term);
    return 0;
}

// A doorbell at PLAT_VIRTIO_CON_BELL + 4 * q notifies queue q; other offsets do nothing.
static void on_console_bell(void* ctx, uint64_t offset) {
    struct vmm* vmm = ctx;
    virtio_con_doorbell(&vmm->con, offset);
}

// Every IO port (0xffff cannot be trapped, spec §1.2), the virtio register page (synchronous MEM
// packets) and its doorbell page (BELL packets, served by their own thread).
static int setup_traps(struct vmm* vmm) {
    zx_status_t st = zx_guest_set_trap(vmm->guest, ZX_GUEST_TRAP_IO, 0, 0xffff, ZX_HANDLE_INVALID,
                                       KEY_IO);
    if (st != ZX_OK)
        return fail("IO trap", st);
    st = zx_guest_set_trap(vmm->guest, ZX_GUEST_TRAP_MEM, PLAT_VIRTIO_CON_BASE,
                           PLAT_VIRTIO_CON_SIZE, ZX_HANDLE_INVALID, KEY_MMIO);
    if (st != ZX_OK)
        return fail("virtio-console MEM trap", st);
    st = bell_start(&vmm->con_bell, vmm->guest, PLAT_VIRTIO_CON_BELL, PLAT_VIRTIO_CON_BELL_SIZE,
                    KEY_BELL, on_console_bell, vmm, vmm->opts->trace);
    if (st != ZX_OK)
        return fail("virtio-console doorbells", st);
    // Queue notifications are idempotent: let KVM absorb the guest's 4-byte doorbell writes for
    // both queues and coalesce them (zxhv.h extension). Without it they still work, by exits.
    for (uint64_t q = 0; q < 2; q++) {
        st = zxhv_guest_set_bell_fastpath(vmm->guest, PLAT_VIRTIO_CON_BELL + 4 * q, 4,
                                          ZXHV_BELL_COALESCE);
        if (st != ZX_OK && st != ZX_ERR_NOT_SUPPORTED)
            return fail("virtio-console doorbell fast path", st);
    }
    return 0;
}

static int start_terminal(struct vmm* vmm) {
    if (term_start(&vmm->term, virtio_con_input, &vmm->con) != 0) {
        fprintf(stderr, "zxhv: terminal thread: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

// Waits for the end of the run: a stop signal from outside, or request_stop's wake-up.
static void wait_for_stop(struct vmm* vmm, const sigset_t* signals) {
    while (!stopping(vmm)) {
        int sig = 0;
        if (sigwait(signals, &sig) != 0)
            continue;
        if (sig != SIG_WAKE) {
            trace(vmm, "signal %d: stopping", sig);
            request_stop(vmm, VMM_EXIT_INTERRUPTED);
        }
    }
}

static void join_all(struct vmm* vmm) {
    pthread_mutex_lock(&vmm->mu);
    unsigned started = vmm->started;  // no more start once stopping is set
    pthread_mutex_unlock(&vmm->mu);
    for (unsigned i = 0; i < started; i++)
        if (vmm->vcpus[i].spawned)
            pthread_join(vmm->vcpus[i].thread, NULL);
    bell_stop(&vmm->con_bell);
}

static void print_stats(struct vmm* vmm) {
    for (unsigned i = 0; i < vmm->started; i++)
        if (vmm->vcpus[i].handle != ZX_HANDLE_INVALID)
            stats_print_vcpu(stderr, i, &vmm->vcpus[i].stats);
    if (vmm->con_bell.stats.count)
        stats_print_bell(stderr, &vmm->con_bell.stats);
}

static void teardown(struct vmm* vmm, bool devices) {
    for (unsigned i = 0; i < vmm->started; i++)
        zx_handle_close(vmm->vcpus[i].handle);
    zx_handle_close(vmm->guest_vmar);
    zx_handle_close(vmm->guest);
    if (vmm->ram)
        zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)vmm->ram, vmm->opts->mem_size);
    zx_handle_close(vmm->ram_vmo);
    if (devices) {
        virtio_con_destroy(&vmm->con);
        legacy_destroy(&vmm->legacy);
        pit_destroy(&vmm->pit);
        uart_destroy(&vmm->uart);
        io_bus_destroy(&vmm->bus);
    }
}

int vmm_run(const struct vmm_options* opts) {
    // Stop signals are taken with sigwait on this thread only: every thread started from here on
    // inherits the mask. SIGPIPE is ignored so a closed stdout cannot kill the run.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGQUIT);
    sigaddset(&signals, SIG_WAKE);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct vmm* vmm = calloc(1, sizeof(*vmm));
    if (!vmm) {
        fprintf(stderr, "zxhv: out of memory\n");
        return VMM_EXIT_ERROR;
    }
    vmm->opts = opts;
    vmm->main_thread = pthread_self();
    pthread_mutex_init(&vmm->create_mu, NULL);
    pthread_mutex_init(&vmm->mu, NULL);
    pthread_cond_init(&vmm->created, NULL);
    for (unsigned i = 0; i < PLAT_MAX_CPUS; i++)
        vmm->vcpus[i] = (struct vcpu){.vmm = vmm, .id = i};

    int status = VMM_EXIT_ERROR;
    bool devices = false;
    if (setup_ram(vmm) != 0 || load(vmm) != 0 || setup_guest(vmm) != 0)
        goto out;
    if (term_init(&vmm->term) != 0) {
        fprintf(stderr, "zxhv: terminal: %s\n", strerror(errno));
        goto out;
    }
    devices = true;  // torn down even if only partly set up: each part starts zeroed
    if (setup_devices(vmm) != 0)
        goto out_term;
    if (setup_traps(vmm) != 0 || start_terminal(vmm) != 0)
        goto out_threads;

    start_vcpu(vmm, 0, vmm->boot.entry);
    wait_for_stop(vmm, &signals);
    status = vmm->status;

out_threads:
    join_all(vmm);
out_term:
    term_close(&vmm->term);
    if (devices && opts->stats)
        print_stats(vmm);
    if (devices && opts->trace)
        io_bus_print_unknown(&vmm->bus, stderr);
out:
    teardown(vmm, devices);
    pthread_cond_destroy(&vmm->created);
    pthread_mutex_destroy(&vmm->mu);
    pthread_mutex_destroy(&vmm->create_mu);
    free(vmm);
    return status;
}
