// The x2APIC that Zircon emulated through MSRs 0x800-0x83F (spec §3.7), seen from guests
// (guests/x2apic_guests.S) run in the Zircon test fixture (zircon/fixture.h): the timer in its
// three modes, self-IPIs and EOI, the register values, the #GP cases, and ICR writes coming back
// as GUEST_VCPU packets. Where zxhv goes beyond REF (readable timer registers, LVT_ERROR), the
// expectation cites docs/host-differences.md §5.5.
//
// No test asserts how long anything took: a guest may run under nested emulation on a busy
// machine. Waits are bounded instead (GUEST_WAIT), and an interrupt that must not come is watched
// for SETTLE after the guest says it is ready, then the VCPU is kicked (zx_vcpu_kick).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <string.h>

#include "guests/x2apic_layout.h"
#include "zircon/fixture.h"

GUEST_ROUTINE(x2apic_oneshot);
GUEST_ROUTINE(x2apic_periodic);
GUEST_ROUTINE(x2apic_tsc_deadline);
GUEST_ROUTINE(x2apic_tsc_deadline_far);
GUEST_ROUTINE(x2apic_tsc_deadline_wrong_mode);
GUEST_ROUTINE(x2apic_refused_writes);
GUEST_ROUTINE(x2apic_masked);
GUEST_ROUTINE(x2apic_self_ipi);
GUEST_ROUTINE(x2apic_self_ipi_priority);
GUEST_ROUTINE(x2apic_icr_fixed);
GUEST_ROUTINE(x2apic_icr_startup);
GUEST_ROUTINE(x2apic_icr_unsupported);
GUEST_ROUTINE(x2apic_msr_probe);
GUEST_ROUTINE(x2apic_ap_registers);

#define GUEST_WAIT_SECONDS 60
#define GUEST_WAIT ZX_SEC(GUEST_WAIT_SECONDS)
#define SETTLE ZX_MSEC(300)

// spec §3.7: VERSION = 0x15 | (6 << 16).
#define X2APIC_VERSION_VALUE 0x60015u

// A quadword of guest RAM, as the VCPU last wrote it.
static uint64_t guest_u64(const fixture_t* f, uint64_t gpa) {
    return __atomic_load_n((const uint64_t*)(f->host + gpa), __ATOMIC_SEQ_CST);
}

// --- Bounded resumes --------------------------------------------------------------------------

// A thread that kicks |vcpu|: SETTLE after the guest's quadword at |gpa| has reached |at_least|,
// or (gpa 0, a watchdog) after GUEST_WAIT. A kicker that is stopped first does not kick.
struct kicker {
    const fixture_t* f;
    zx_handle_t vcpu;
    uint64_t gpa;
    uint64_t at_least;
    atomic_bool stop;
    atomic_bool reached;  // the guest reached |at_least| before the kick
    pthread_t thread;
};

static void* kicker_main(void* arg) {
    struct kicker* k = arg;
    zx_time_t deadline = zx_deadline_after(GUEST_WAIT);
    bool watching = k->gpa != 0;
    while (!atomic_load(&k->stop) && zx_clock_get_monotonic() < deadline) {
        if (watching && guest_u64(k->f, k->gpa) >= k->at_least) {
            watching = false;
            atomic_store(&k->reached, true);
            deadline = zx_deadline_after(SETTLE);
        }
        zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
    }
    if (!atomic_load(&k->stop)) zx_vcpu_kick(k->vcpu);
    return NULL;
}

static void kicker_start(struct kicker* k, const fixture_t* f, zx_handle_t vcpu, uint64_t gpa,
                         uint64_t at_least) {
    k->f = f;
    k->vcpu = vcpu;
    k->gpa = gpa;
    k->at_least = at_least;
    atomic_init(&k->stop, false);
    atomic_init(&k->reached, false);
    cr_assert_eq(pthread_create(&k->thread, NULL, kicker_main, k), 0);
}

static void kicker_stop(struct kicker* k) {
    atomic_store(&k->stop, true);
    cr_assert_eq(pthread_join(k->thread, NULL), 0);
}

// One zx_vcpu_resume of |vcpu| that a watchdog ends (ZX_ERR_CANCELED) after GUEST_WAIT.
static zx_status_t resume_bounded(fixture_t* f, zx_handle_t vcpu, zx_port_packet_t* p) {
    memset(p, 0, sizeof(*p));
    struct kicker watchdog;
    kicker_start(&watchdog, f, vcpu, 0, 0);
    zx_status_t status = zx_vcpu_resume(vcpu, p);
    kicker_stop(&watchdog);
    cr_assert_neq(status, ZX_ERR_CANCELED,
                  "the guest did not get there within %d s (it reached PHASE %lu)",
                  GUEST_WAIT_SECONDS, (unsigned long)guest_u64(f, PHASE));
    return status;
}

// Fails with what the guest reported if |p| is its exit store with an exception or a failure
// marker (guest_asm.h).
static void assert_no_guest_exception(fixture_t* f, const zx_port_packet_t* p) {
    if (p->type == ZX_PKT_TYPE_GUEST_MEM && p->guest_mem.addr == EXIT_TEST_ADDR) {
        cr_assert(!exception_thrown(f, &p->guest_mem), "the guest took an exception: %s",
                  describe_packet(p));
    }
}

// The next resume must end at the guest's clean exit.
static void resume_to_clean_exit(fixture_t* f) {
    zx_port_packet_t p;
    ASSERT_OK(resume_bounded(f, f->vcpu, &p));
    assert_no_guest_exception(f, &p);
    cr_assert(p.type == ZX_PKT_TYPE_GUEST_MEM && p.guest_mem.addr == EXIT_TEST_ADDR,
              "expected the exit store, got %s", describe_packet(&p));
}

// The next resume must run until the guest has set PHASE to |phase| and then, for SETTLE more,
// produce nothing: it ends with the kick that follows.
static void resume_until_quiet_after_phase(fixture_t* f, uint64_t phase) {
    struct kicker k;
    kicker_start(&k, f, f->vcpu, PHASE, phase);
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    zx_status_t status = zx_vcpu_resume(f->vcpu, &p);
    kicker_stop(&k);
    if (status == ZX_OK) assert_no_guest_exception(f, &p);
    cr_assert_eq(status, ZX_ERR_CANCELED, "resume gave %s (%s), want the kick's ZX_ERR_CANCELED",
                 zx_status_get_string(status), status == ZX_OK ? describe_packet(&p) : "");
    cr_assert(atomic_load(&k.reached), "the guest did not reach PHASE %lu within %d s (PHASE %lu)",
              (unsigned long)phase, GUEST_WAIT_SECONDS, (unsigned long)guest_u64(f, PHASE));
}

// The next resume must give a GUEST_VCPU packet, filled as REF's handle_ipi fills it (spec §3.7:
// the packet is zeroed, then type and the union set; key 0).
static zx_packet_guest_vcpu_t resume_to_vcpu_packet(fixture_t* f) {
    zx_port_packet_t p;
    ASSERT_OK(resume_bounded(f, f->vcpu, &p));
    assert_no_guest_exception(f, &p);
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_VCPU, "expected a GUEST_VCPU packet, got %s",
                 describe_packet(&p));
    cr_expect_eq(p.key, 0);
    cr_expect_eq(p.status, ZX_OK);
    return p.guest_vcpu;
}

// The next |n| resumes must each fail with |status| at one of the guest's WRMSRs, which then
// completes when the VCPU runs again (docs/host-differences.md §5.10): the guest counts in
// RESULT(0) each time it gets past one, takes no interrupt, and ends at its clean exit.
static void resumes_fail_and_the_guest_goes_on(fixture_t* f, zx_status_t status, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        zx_port_packet_t p;
        ASSERT_STATUS(resume_bounded(f, f->vcpu, &p), status);
        cr_expect_eq(guest_u64(f, RESULT(0)), i, "resume %u: the guest got past %lu WRMSRs", i,
                     (unsigned long)guest_u64(f, RESULT(0)));
    }
    resume_to_clean_exit(f);
    cr_expect_eq(guest_u64(f, RESULT(0)), n);
    cr_expect_eq(guest_u64(f, LOG_LEN), 0);
}

static uint64_t count_of(const fixture_t* f, unsigned vector) {
    return guest_u64(f, COUNTS + 8 * vector);
}

// The vectors the guest took, in order.
static void expect_log(const fixture_t* f, const uint8_t* want, size_t n) {
    uint64_t len = guest_u64(f, LOG_LEN);
    cr_expect_eq(len, n, "the guest took %lu interrupts, want %zu", (unsigned long)len, n);
    for (size_t i = 0; i < n && i < len && i < LOG_MAX; i++) {
        uint8_t got = f->host[LOG + i];
        cr_expect_eq(got, want[i], "interrupt %zu was vector %u, want %u", i, got, want[i]);
    }
}

// --- The timer --------------------------------------------------------------------------------

// spec §3.7: LVT_TIMER, INITIAL_COUNT and DCR program the timer; at expiry its vector is raised.
// CURRENT_COUNT reads back under zxhv (docs/host-differences.md §5.5).
Test(x2apic, oneshot_timer_fires_once_and_current_count_then_reads_zero, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_oneshot));
    resume_until_quiet_after_phase(&f, 1);
    cr_expect_eq(count_of(&f, TIMER_VECTOR), 1, "the one-shot timer fired %lu times",
                 (unsigned long)count_of(&f, TIMER_VECTOR));
    cr_expect_eq(guest_u64(&f, LOG_LEN), 1);
    cr_expect_eq(guest_u64(&f, RESULT(0)), TIMER_VECTOR | LVT_ONESHOT, "LVT_TIMER read back %#lx",
                 (unsigned long)guest_u64(&f, RESULT(0)));
    cr_expect_leq(guest_u64(&f, RESULT(1)), ONESHOT_COUNT, "CURRENT_COUNT at the start: %lu",
                  (unsigned long)guest_u64(&f, RESULT(1)));
    cr_expect_eq(guest_u64(&f, RESULT(2)), 0, "CURRENT_COUNT after the interrupt: %lu",
                 (unsigned long)guest_u64(&f, RESULT(2)));
    fixture_teardown(&f);
}

// spec §3.7: a periodic timer raises its vector each period; masked, it raises nothing.
Test(x2apic, periodic_timer_fires_repeatedly_until_masked, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_periodic));
    resume_until_quiet_after_phase(&f, 1);
    uint64_t at_mask = guest_u64(&f, RESULT(0));
    uint64_t total = count_of(&f, TIMER_VECTOR);
    cr_expect_geq(at_mask, 3, "the guest masked the timer after %lu interrupts",
                  (unsigned long)at_mask);
    // One expiry may already have been pending when the guest masked the timer (with
    // interrupts off); none may come after that.
    cr_expect(total == at_mask || total == at_mask + 1,
              "%lu interrupts when the timer was masked, %lu in all", (unsigned long)at_mask,
              (unsigned long)total);
    fixture_teardown(&f);
}

// spec §3.7, §3.8: in TSC-deadline mode IA32_TSC_DEADLINE arms the timer; 0 disarms it.
Test(x2apic, tsc_deadline_timer_fires_at_its_deadline_and_writing_zero_disarms_it,
     .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_tsc_deadline));
    resume_to_clean_exit(&f);
    // A deadline ahead, then one already past; the third was disarmed before it came, and the
    // guest waited on its own TSC until twice as far.
    cr_expect_eq(guest_u64(&f, RESULT(0)), 2, "the timer fired %lu times, want 2",
                 (unsigned long)guest_u64(&f, RESULT(0)));
    cr_expect_eq(count_of(&f, TIMER_VECTOR), 2);
    fixture_teardown(&f);
}

// A TSC deadline years ahead is still ahead: the ticks-to-nanoseconds conversion must not wrap
// it into a near one.
Test(x2apic, far_tsc_deadline_does_not_fire_early, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_tsc_deadline_far));
    resume_to_clean_exit(&f);
    cr_expect_eq(guest_u64(&f, RESULT(0)), 0, "a deadline 2^58 TSC ticks ahead fired");
    fixture_teardown(&f);
}

// spec §3.8: IA32_TSC_DEADLINE is accepted only in TSC-deadline mode, else the resume returns
// ZX_ERR_INVALID_ARGS; under zxhv the WRMSR then completes, ignored (docs/host-differences.md
// §5.10).
Test(x2apic, tsc_deadline_write_outside_deadline_mode_fails_the_resume_with_invalid_args,
     .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_tsc_deadline_wrong_mode));
    resumes_fail_and_the_guest_goes_on(&f, ZX_ERR_INVALID_ARGS, 1);
    fixture_teardown(&f);
}

// spec §3.7, REF's handle_apic_wrmsr: TPR, SVR, the LVTs, INITIAL_COUNT and DCR are 32-bit, and a
// WRMSR with EDX set fails the resume with ZX_ERR_INVALID_ARGS, as does LVT_TIMER's reserved mode 3.
Test(x2apic, wide_writes_and_the_reserved_timer_mode_fail_the_resume_with_invalid_args,
     .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_refused_writes));
    resumes_fail_and_the_guest_goes_on(&f, ZX_ERR_INVALID_ARGS, 8);
    fixture_teardown(&f);
}

// spec §3.7: a masked LVT_TIMER raises nothing (docs/host-differences.md §5.5: the expiry is
// dropped).
Test(x2apic, masked_timer_never_fires, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_masked));
    // The guest halts with a masked 1 ms periodic timer: only the kick may end the resume.
    resume_until_quiet_after_phase(&f, 1);
    cr_expect_eq(count_of(&f, TIMER_VECTOR), 0, "the masked timer fired %lu times",
                 (unsigned long)count_of(&f, TIMER_VECTOR));
    cr_expect_eq(guest_u64(&f, LOG_LEN), 0);
    fixture_teardown(&f);
}

// --- Self-IPI and EOI -------------------------------------------------------------------------

// spec §3.7: SELF_IPI tracks the vector; EOI = 0 is accepted, TPR accepted and ignored. REF
// keeps no in-service state, so ISR reads 0 inside the handler and the same vector is taken again
// without an EOI.
Test(x2apic, self_ipi_delivers_its_vector_again_without_eoi_and_whatever_the_tpr,
     .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_self_ipi));
    resume_to_clean_exit(&f);
    const uint8_t want[] = {LOW_VECTOR, LOW_VECTOR, LOW_VECTOR};
    expect_log(&f, want, 3);
    cr_expect_eq(guest_u64(&f, GP_COUNT), 0, "EOI = 0 raised #GP");
    cr_expect_eq(guest_u64(&f, ISR_SEEN), 0, "ISR read %#lx in the handler",
                 (unsigned long)guest_u64(&f, ISR_SEEN));
    fixture_teardown(&f);
}

// spec §3.7: pending vectors wait for RFLAGS.IF and come out highest first.
Test(x2apic, self_ipis_wait_for_interrupts_on_and_come_highest_vector_first, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_self_ipi_priority));
    resume_to_clean_exit(&f);
    cr_expect_eq(guest_u64(&f, RESULT(0)), 0, "%lu interrupts were taken with interrupts off",
                 (unsigned long)guest_u64(&f, RESULT(0)));
    const uint8_t want[] = {HIGH_VECTOR, LOW_VECTOR};
    expect_log(&f, want, 2);
    fixture_teardown(&f);
}

// --- Registers --------------------------------------------------------------------------------

// One MSR access of the probe guest and what it must give.
enum outcome {
    ANY,    // no #GP; any value
    VALUE,  // no #GP; a read gives |want|
    GP,     // #GP
};

struct check {
    uint32_t op;  // PROBE_READ or PROBE_WRITE
    uint32_t msr;
    uint64_t value;  // written
    enum outcome outcome;
    uint64_t want;  // read
};

#define READS(msr, v) {PROBE_READ, (msr), 0, VALUE, (v)}
#define READ_GP(msr) {PROBE_READ, (msr), 0, GP, 0}
#define WRITE_OK(msr, v) {PROBE_WRITE, (msr), (v), ANY, 0}
#define WRITE_GP(msr, v) {PROBE_WRITE, (msr), (v), GP, 0}

// What the guest recorded for one access.
struct probe_out {
    uint64_t value;
    uint64_t faults;
};

// Runs |n| accesses in the probe guest (x2apic_msr_probe) on VCPU 0, in order, into |out|.
static void run_probe(const struct check* checks, size_t n, struct probe_out* out) {
    cr_assert_leq((n + 1) * 16, PROBE_OUT - PROBE_OPS);
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_msr_probe));
    for (size_t i = 0; i < n; i++) {
        uint8_t* op = f.host + PROBE_OPS + 16 * i;
        memcpy(op, &checks[i].op, 4);
        memcpy(op + 4, &checks[i].msr, 4);
        memcpy(op + 8, &checks[i].value, 8);
    }
    uint32_t end = PROBE_END;
    memcpy(f.host + PROBE_OPS + 16 * n, &end, 4);
    resume_to_clean_exit(&f);
    memcpy(out, f.host + PROBE_OUT, n * sizeof(*out));
    fixture_teardown(&f);
}

// Runs the accesses and checks each outcome.
static void probe_and_check(const struct check* checks, size_t n) {
    struct probe_out out[256];
    cr_assert_leq(n, 256);
    run_probe(checks, n, out);
    for (size_t i = 0; i < n; i++) {
        const struct check* c = &checks[i];
        const char* what = c->op == PROBE_READ ? "RDMSR" : "WRMSR";
        if (c->outcome == GP) {
            cr_expect_eq(out[i].faults, 1, "%s %#x (access %zu) gave no #GP", what, c->msr, i);
            continue;
        }
        cr_expect_eq(out[i].faults, 0, "%s %#x (access %zu, value %#lx) raised #GP", what, c->msr,
                     i, (unsigned long)c->value);
        if (c->outcome == VALUE && out[i].faults == 0) {
            cr_expect_eq(out[i].value, c->want, "RDMSR %#x (access %zu) = %#lx, want %#lx", c->msr,
                         i, (unsigned long)out[i].value, (unsigned long)c->want);
        }
    }
}

#define CHECK_ALL(...)                                            \
    do {                                                          \
        const struct check checks_[] = {__VA_ARGS__};            \
        probe_and_check(checks_, sizeof(checks_) / sizeof(checks_[0])); \
    } while (0)

#define EIGHT_READS(base, v)                                                                 \
    READS((base), (v)), READS((base) + 1, (v)), READS((base) + 2, (v)), READS((base) + 3, (v)), \
        READS((base) + 4, (v)), READS((base) + 5, (v)), READS((base) + 6, (v)),               \
        READS((base) + 7, (v))
#define EIGHT_WRITES_GP(base)                                                               \
    WRITE_GP((base), 0), WRITE_GP((base) + 1, 0), WRITE_GP((base) + 2, 0),                  \
        WRITE_GP((base) + 3, 0), WRITE_GP((base) + 4, 0), WRITE_GP((base) + 5, 0),          \
        WRITE_GP((base) + 6, 0), WRITE_GP((base) + 7, 0)

// In TSC-deadline mode CURRENT_COUNT reads 0, whatever the initial count and the deadline
// (Intel SDM vol. 3 §10.5.4.1): the deadline is not a count.
Test(x2apic, current_count_reads_zero_in_tsc_deadline_mode, .timeout = 300) {
    CHECK_ALL(WRITE_OK(X2APIC_LVT_TIMER, LVT_MASKED | LVT_ONESHOT | TIMER_VECTOR),
              WRITE_OK(X2APIC_DCR, DCR_DIVIDE_BY_128), WRITE_OK(X2APIC_INITIAL_COUNT, UINT32_MAX),
              WRITE_OK(X2APIC_LVT_TIMER, LVT_MASKED | LVT_TSC_DEADLINE | TIMER_VECTOR),
              WRITE_OK(MSR_TSC_DEADLINE, 1ull << 62), READS(X2APIC_CURRENT_COUNT, 0),
              WRITE_OK(MSR_TSC_DEADLINE, 0), READS(X2APIC_CURRENT_COUNT, 0));
}

// spec §3.7 reads: ID = VPID - 1 (0 for the first VCPU), VERSION = 0x15 | 6 << 16, SVR = 0xff,
// TPR, LDR, ISR, TMR, IRR, ESR and LVT_MONITOR 0; LINT0/1, THERMAL and CMCI masked; LVT_TIMER as
// stored, masked at reset. zxhv also answers LVT_ERROR (masked) and the timer's INITIAL_COUNT,
// CURRENT_COUNT and DCR (0 at reset), and IA32_TSC_DEADLINE reads 0 (docs/host-differences.md
// §5.5).
Test(x2apic, registers_read_as_zircon_resets_them, .timeout = 300) {
    CHECK_ALL(READS(X2APIC_ID, 0), READS(X2APIC_VERSION, X2APIC_VERSION_VALUE),
              READS(X2APIC_SVR, 0xff), READS(X2APIC_TPR, 0), READS(X2APIC_LDR, 0),
              EIGHT_READS(X2APIC_ISR0, 0), EIGHT_READS(X2APIC_TMR0, 0),
              EIGHT_READS(X2APIC_IRR0, 0), READS(X2APIC_ESR, 0), READS(X2APIC_LVT_PERF, 0),
              READS(X2APIC_LVT_LINT0, LVT_MASKED), READS(X2APIC_LVT_LINT1, LVT_MASKED),
              READS(X2APIC_LVT_THERMAL, LVT_MASKED), READS(X2APIC_LVT_CMCI, LVT_MASKED),
              READS(X2APIC_LVT_TIMER, LVT_MASKED), READS(X2APIC_LVT_ERROR, LVT_MASKED),
              READS(X2APIC_INITIAL_COUNT, 0), READS(X2APIC_CURRENT_COUNT, 0),
              READS(X2APIC_DCR, 0), READS(MSR_TSC_DEADLINE, 0));
}

// spec §3.7 writes: TPR, SVR and the LVTs other than the timer are accepted and ignored; EOI and
// ESR accept 0.
Test(x2apic, writes_to_tpr_svr_and_the_other_lvts_are_accepted_and_ignored, .timeout = 300) {
    CHECK_ALL(WRITE_OK(X2APIC_TPR, 0xff), READS(X2APIC_TPR, 0),
              WRITE_OK(X2APIC_SVR, 0x1ff), READS(X2APIC_SVR, 0xff),
              WRITE_OK(X2APIC_SVR, 0x20), READS(X2APIC_SVR, 0xff),
              WRITE_OK(X2APIC_LVT_LINT0, 0), READS(X2APIC_LVT_LINT0, LVT_MASKED),
              WRITE_OK(X2APIC_LVT_LINT1, 0x700), READS(X2APIC_LVT_LINT1, LVT_MASKED),
              WRITE_OK(X2APIC_LVT_THERMAL, 0x30), READS(X2APIC_LVT_THERMAL, LVT_MASKED),
              WRITE_OK(X2APIC_LVT_CMCI, 0x31), READS(X2APIC_LVT_CMCI, LVT_MASKED),
              WRITE_OK(X2APIC_LVT_PERF, 0x32), READS(X2APIC_LVT_PERF, 0),
              WRITE_OK(X2APIC_LVT_ERROR, 0x33), READS(X2APIC_LVT_ERROR, LVT_MASKED),
              WRITE_OK(X2APIC_EOI, 0), WRITE_OK(X2APIC_ESR, 0), READS(X2APIC_ESR, 0));
}

// LVT_TIMER reads back as stored (spec §3.7); DCR (bits 0, 1 and 3) and INITIAL_COUNT read back
// under zxhv (docs/host-differences.md §5.5). The timer stays masked throughout.
Test(x2apic, timer_registers_read_back_what_was_written, .timeout = 300) {
    CHECK_ALL(WRITE_OK(X2APIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC | TIMER_VECTOR),
              READS(X2APIC_LVT_TIMER, LVT_MASKED | LVT_PERIODIC | TIMER_VECTOR),
              WRITE_OK(X2APIC_LVT_TIMER, LVT_MASKED | LVT_TSC_DEADLINE | 0x41),
              READS(X2APIC_LVT_TIMER, LVT_MASKED | LVT_TSC_DEADLINE | 0x41),
              WRITE_OK(X2APIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR),
              WRITE_OK(X2APIC_DCR, DCR_DIVIDE_BY_1), READS(X2APIC_DCR, DCR_DIVIDE_BY_1),
              WRITE_OK(X2APIC_DCR, 0xff), READS(X2APIC_DCR, 0xb),
              WRITE_OK(X2APIC_DCR, 0x8), READS(X2APIC_DCR, 0x8),
              WRITE_OK(X2APIC_INITIAL_COUNT, 0x12345678),
              READS(X2APIC_INITIAL_COUNT, 0x12345678), WRITE_OK(X2APIC_INITIAL_COUNT, 0),
              READS(X2APIC_INITIAL_COUNT, 0));
}

// CURRENT_COUNT (docs/host-differences.md §5.5): between 1 and the initial count while the count
// runs, never rising, and 0 once a zero initial count has stopped it. The count (2^32 - 1 ticks
// of 128 ns: about nine minutes, masked) cannot end during the test.
Test(x2apic, current_count_counts_down_and_a_zero_initial_count_stops_it, .timeout = 300) {
    const struct check checks[] = {
        WRITE_OK(X2APIC_LVT_TIMER, LVT_MASKED | LVT_ONESHOT | TIMER_VECTOR),
        WRITE_OK(X2APIC_DCR, DCR_DIVIDE_BY_128),
        WRITE_OK(X2APIC_INITIAL_COUNT, UINT32_MAX),
        {PROBE_READ, X2APIC_CURRENT_COUNT, 0, ANY, 0},
        {PROBE_READ, X2APIC_CURRENT_COUNT, 0, ANY, 0},
        WRITE_OK(X2APIC_INITIAL_COUNT, 0),
        READS(X2APIC_CURRENT_COUNT, 0),
    };
    struct probe_out out[7];
    run_probe(checks, 7, out);
    for (size_t i = 0; i < 7; i++) cr_expect_eq(out[i].faults, 0, "access %zu raised #GP", i);
    uint64_t first = out[3].value, second = out[4].value;
    cr_expect(first > 0 && first <= UINT32_MAX, "CURRENT_COUNT read %#lx", (unsigned long)first);
    cr_expect(second <= first, "CURRENT_COUNT went from %#lx up to %#lx", (unsigned long)first,
              (unsigned long)second);
    cr_expect_eq(out[6].value, 0, "CURRENT_COUNT after a zero initial count: %#lx",
                 (unsigned long)out[6].value);
}

// spec §3.7: registers REF did not implement give #GP, read or written (0x840-0x8FF, past REF's
// range, too: an unknown MSR gets #GP, spec §3.5).
Test(x2apic, unimplemented_registers_raise_gp_on_read_and_write, .timeout = 300) {
    static const uint32_t unimplemented[] = {0x800, 0x801, 0x804, 0x805, 0x806, 0x807, 0x809,
                                             0x80a, 0x80c, 0x80e, 0x829, 0x82a, 0x82b, 0x82c,
                                             0x82d, 0x82e, 0x831, 0x83a, 0x83b, 0x83c, 0x83d,
                                             0x840, 0x8ff};
    enum { N = sizeof(unimplemented) / sizeof(unimplemented[0]) };
    struct check checks[2 * N];
    for (size_t i = 0; i < N; i++) {
        checks[2 * i] = (struct check)READ_GP(unimplemented[i]);
        checks[2 * i + 1] = (struct check)WRITE_GP(unimplemented[i], 0);
    }
    probe_and_check(checks, 2 * N);
}

// spec §3.7: the read-only registers are not among the writes REF accepted, so a write gives
// #GP and changes nothing.
Test(x2apic, read_only_registers_raise_gp_on_write, .timeout = 300) {
    CHECK_ALL(WRITE_GP(X2APIC_ID, 5), READS(X2APIC_ID, 0), WRITE_GP(X2APIC_VERSION, 0),
              READS(X2APIC_VERSION, X2APIC_VERSION_VALUE), WRITE_GP(X2APIC_LDR, 1),
              EIGHT_WRITES_GP(X2APIC_ISR0), EIGHT_WRITES_GP(X2APIC_TMR0),
              EIGHT_WRITES_GP(X2APIC_IRR0), WRITE_GP(X2APIC_CURRENT_COUNT, 0));
}

// spec §3.7: EOI, ICR and SELF_IPI are not among the reads REF answered.
Test(x2apic, write_only_registers_raise_gp_on_read, .timeout = 300) {
    CHECK_ALL(READ_GP(X2APIC_EOI), READ_GP(X2APIC_ICR), READ_GP(X2APIC_SELF_IPI));
}

// spec §3.7: EOI and ESR must be written with 0 (REF: Intel SDM vol. 3 §10.12.1.2).
Test(x2apic, eoi_and_esr_raise_gp_on_nonzero_writes, .timeout = 300) {
    CHECK_ALL(WRITE_GP(X2APIC_EOI, 1), WRITE_GP(X2APIC_EOI, 1ull << 32), WRITE_OK(X2APIC_EOI, 0),
              WRITE_GP(X2APIC_ESR, 0x40), WRITE_OK(X2APIC_ESR, 0));
}

// What the second VCPU of a guest reads (x2apic_ap_registers: ID, VERSION, SVR and the low half
// of IA32_APIC_BASE). It starts in real mode (spec §3.4) and reports with OUTs.
static void second_vcpu_reads(uint32_t out[4]) {
    fixture_t f;
    fixture_make_guest(&f);
    fixture_load(&f, AP_ENTRY, ROUTINE(x2apic_ap_registers));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, X2APIC_PORT, 1, ZX_HANDLE_INVALID, 0));
    f.vcpu = fixture_create_vcpu(&f, GUEST_ENTRY);  // VPID 1, never run
    zx_handle_t ap = fixture_create_vcpu(&f, AP_ENTRY);
    for (size_t i = 0; i < 4; i++) {
        zx_port_packet_t p;
        ASSERT_OK(resume_bounded(&f, ap, &p));
        cr_assert(p.type == ZX_PKT_TYPE_GUEST_IO && p.guest_io.port == X2APIC_PORT &&
                      !p.guest_io.input && p.guest_io.access_size == 4,
                  "expected OUT %zu of the second VCPU, got %s", i, describe_packet(&p));
        out[i] = p.guest_io.u32;
    }
    ASSERT_OK(zx_handle_close(ap));
    fixture_teardown(&f);
}

// spec §3.7: ID = VPID - 1, so the second VCPU of a guest reads 1; VERSION and SVR as for the
// first.
Test(x2apic, id_of_a_second_vcpu_is_its_index, .timeout = 300) {
    uint32_t got[4];
    second_vcpu_reads(got);
    cr_expect_eq(got[0], 1, "the second VCPU read ID %u", got[0]);
    cr_expect_eq(got[1], X2APIC_VERSION_VALUE, "the second VCPU read VERSION %#x", got[1]);
    cr_expect_eq(got[2], 0xff, "the second VCPU read SVR %#x", got[2]);
}

// spec §3.7: IA32_APIC_BASE reads APIC_PHYS_BASE | XAPIC_ENABLE | X2APIC_ENABLE, with the BSP
// bit for VPID 1 only (docs/host-differences.md §5.5: KVM's value, the same bits).
#define APIC_BASE_X2APIC 0xfee00c00u  // 0xFEE00000, EN (bit 11), EXTD (bit 10)
#define APIC_BASE_BSP 0x100u
Test(x2apic, apic_base_reads_x2apic_enabled_with_bsp_only_on_the_first_vcpu, .timeout = 300) {
    CHECK_ALL(READS(MSR_APIC_BASE, APIC_BASE_X2APIC | APIC_BASE_BSP));
    uint32_t got[4];
    second_vcpu_reads(got);
    cr_expect_eq(got[3], APIC_BASE_X2APIC, "the second VCPU read IA32_APIC_BASE %#x, want %#x",
                 got[3], APIC_BASE_X2APIC);
}

// --- ICR --------------------------------------------------------------------------------------

// spec §3.7 handle_ipi: a FIXED IPI comes back as a GUEST_VCPU INTERRUPT packet with the vector
// and the destination mask (self = bit VPID - 1; all = every bit), and is not delivered locally.
// All-excluding-self and the x2APIC broadcast are zxhv's reading (docs/host-differences.md §5.5).
Test(x2apic, fixed_ipi_becomes_an_interrupt_packet_with_mask_and_vector, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_icr_fixed));
    const struct {
        const char* to;
        uint64_t mask;
        uint8_t vector;
    } ipis[] = {
        {"APIC 1", 1u << 1, 42},
        {"self", 1u << 0, 43},
        {"all including self", UINT64_MAX, 44},
        {"all excluding self", UINT64_MAX & ~1ull, 45},
        {"broadcast 0xffffffff", UINT64_MAX, 46},
    };
    for (size_t i = 0; i < sizeof(ipis) / sizeof(ipis[0]); i++) {
        zx_packet_guest_vcpu_t v = resume_to_vcpu_packet(&f);
        cr_expect_eq(v.type, ZX_PKT_GUEST_VCPU_INTERRUPT, "IPI to %s: packet type %u", ipis[i].to,
                     v.type);
        cr_expect_eq(v.interrupt.mask, ipis[i].mask, "IPI to %s: mask %#lx, want %#lx",
                     ipis[i].to, (unsigned long)v.interrupt.mask, (unsigned long)ipis[i].mask);
        cr_expect_eq(v.interrupt.vector, ipis[i].vector, "IPI to %s: vector %u, want %u",
                     ipis[i].to, v.interrupt.vector, ipis[i].vector);
    }
    resume_to_clean_exit(&f);
    cr_expect_eq(guest_u64(&f, LOG_LEN), 0, "an IPI was delivered to the sender itself");
    fixture_teardown(&f);
}

// spec §3.7 handle_ipi: INIT is ignored (no packet); STARTUP gives a STARTUP packet with id = the
// destination and entry = vector << 12 (the destination field whatever the shorthand:
// docs/host-differences.md §5.5).
Test(x2apic, init_is_ignored_and_startup_becomes_a_startup_packet, .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_icr_startup));
    zx_packet_guest_vcpu_t v = resume_to_vcpu_packet(&f);
    cr_expect_eq(guest_u64(&f, PHASE), 1, "the INIT did not go by without a packet");
    cr_expect_eq(v.type, ZX_PKT_GUEST_VCPU_STARTUP);
    cr_expect_eq(v.startup.id, 1);
    cr_expect_eq(v.startup.entry, 0x8000, "entry %#lx", (unsigned long)v.startup.entry);
    v = resume_to_vcpu_packet(&f);
    cr_expect_eq(guest_u64(&f, PHASE), 2, "the second INIT did not go by without a packet");
    cr_expect_eq(v.type, ZX_PKT_GUEST_VCPU_STARTUP);
    cr_expect_eq(v.startup.id, 5);
    cr_expect_eq(v.startup.entry, 0x9a000, "entry %#lx", (unsigned long)v.startup.entry);
    resume_to_clean_exit(&f);
    fixture_teardown(&f);
}

// spec §3.7 handle_ipi: a logical destination, or a delivery mode other than FIXED, INIT and
// STARTUP, makes the resume return ZX_ERR_NOT_SUPPORTED; the WRMSR then completes when the VCPU
// runs again (docs/host-differences.md §5.5).
Test(x2apic, logical_destination_and_other_delivery_modes_fail_the_resume_with_not_supported,
     .timeout = 300) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(x2apic_icr_unsupported));
    resumes_fail_and_the_guest_goes_on(&f, ZX_ERR_NOT_SUPPORTED, 2);  // logical, then NMI
    fixture_teardown(&f);
}
