// zxhv tests: Zircon's own hypervisor tests (system/utest/hypervisor at the reference commit,
// spec §4.4), the 14 x86 cases under their Zircon names, written for zxhv from the specification.
//
// Where the host cannot do what the test needs (host-kvm.md), the test detects it and skips with
// the reason; anything else that differs from Zircon fails.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

GUEST_ROUTINE(vcpu_resume);
GUEST_ROUTINE(vcpu_read_write_state);
GUEST_ROUTINE(vcpu_interrupt);
GUEST_ROUTINE(guest_set_trap_with_mem);
GUEST_ROUTINE(guest_set_trap_with_bell);
GUEST_ROUTINE(guest_set_trap_with_io);
GUEST_ROUTINE(vcpu_hlt);
GUEST_ROUTINE(vcpu_pause);
GUEST_ROUTINE(vcpu_write_cr0);
GUEST_ROUTINE(vcpu_compat_mode);
GUEST_ROUTINE(vcpu_syscall);
GUEST_ROUTINE(vcpu_sysenter);
GUEST_ROUTINE(vcpu_sysenter_compat);
GUEST_ROUTINE(vcpu_vmcall);

// Guest code at CPL0 is emulated on some hosts (host-kvm.md: ~0.5 µs an instruction).
TestSuite(zircon, .timeout = 120.0);

// 1.
Test(zircon, vcpu_resume) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_resume));
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// 2.
Test(zircon, vcpu_read_write_state) {
    if (!host_has_smap()) {
        cr_skip_test("the guest CPU has no SMAP (KVM_GET_SUPPORTED_CPUID leaf 7 EBX bit 20 is "
                     "clear), so the guest's `stac` cannot run (host-kvm.md)");
    }
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_read_write_state));

    zx_vcpu_state_t in = {
        .rax = 1, .rcx = 2, .rdx = 3, .rbx = 4, .rsp = 5, .rbp = 6, .rsi = 7, .rdi = 8,
        .r8 = 9, .r9 = 10, .r10 = 11, .r11 = 12, .r12 = 13, .r13 = 14, .r14 = 15, .r15 = 16,
        .rflags = 0,  // bit 1 clear: ignored (spec §1.7)
    };
    ASSERT_OK(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, &in, sizeof(in)));
    resume_and_clean_exit(&f);

    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rax, 2u);
    cr_expect_eq(s.rcx, 4u);
    cr_expect_eq(s.rdx, 6u);
    cr_expect_eq(s.rbx, 8u);
    cr_expect_eq(s.rsp, 10u);
    cr_expect_eq(s.rbp, 12u);
    cr_expect_eq(s.rsi, 14u);
    cr_expect_eq(s.rdi, 16u);
    cr_expect_eq(s.r8, 18u);
    cr_expect_eq(s.r9, 20u);
    cr_expect_eq(s.r10, 22u);
    cr_expect_eq(s.r11, 24u);
    cr_expect_eq(s.r12, 26u);
    cr_expect_eq(s.r13, 28u);
    cr_expect_eq(s.r14, 30u);
    cr_expect_eq(s.r15, 32u);
    cr_expect_eq(s.rflags, (1u << 0) | (1u << 18), "rflags %#lx, want CF|AC",
                 (unsigned long)s.rflags);
    fixture_teardown(&f);
}

// 3.
Test(zircon, vcpu_interrupt) {
    fixture_t f;
    fixture_setup_and_interrupt(&f, ROUTINE(vcpu_interrupt));
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// 4.
Test(zircon, guest_set_trap_with_mem) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(guest_set_trap_with_mem));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_MEM, TRAP_ADDR, GUEST_PAGE_SIZE,
                                ZX_HANDLE_INVALID, TRAP_KEY));

    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    ASSERT_OK(zx_vcpu_resume(f.vcpu, &p));
    cr_assert_eq(p.key, TRAP_KEY, "%s", describe_packet(&p));
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_MEM, "%s", describe_packet(&p));
    cr_expect_eq(p.guest_mem.addr, TRAP_ADDR, "%s", describe_packet(&p));

    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// 5.
Test(zircon, guest_set_trap_with_bell) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(guest_set_trap_with_bell));
    zx_handle_t port = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_port_create(0, &port));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_BELL, TRAP_ADDR, GUEST_PAGE_SIZE, port,
                                TRAP_KEY));

    // The doorbell does not stop the VCPU: the first exit is the exit store.
    resume_and_clean_exit(&f);

    // Zircon waits forever; a deadline turns a lost packet into a failure, not a hang.
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    ASSERT_OK(zx_port_wait(port, zx_deadline_after(ZX_SEC(10)), &p));
    cr_expect_eq(p.key, TRAP_KEY, "%s", describe_packet(&p));
    cr_expect_eq(p.type, ZX_PKT_TYPE_GUEST_BELL, "%s", describe_packet(&p));
    cr_expect_eq(p.guest_bell.addr, TRAP_ADDR, "%s", describe_packet(&p));

    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// 6.
Test(zircon, guest_set_trap_with_io) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(guest_set_trap_with_io));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, TRAP_PORT, 1, ZX_HANDLE_INVALID,
                                TRAP_KEY));

    zx_port_packet_t p;
    memset(&p, 0xa5, sizeof(p));
    ASSERT_OK(zx_vcpu_resume(f.vcpu, &p));
    cr_assert_eq(p.key, TRAP_KEY, "%s", describe_packet(&p));
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_IO, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_io.port, TRAP_PORT, "%s", describe_packet(&p));
    // Not checked by Zircon, but spec §3.5: "out %al" of a fresh VCPU (rax = 0, spec §3.4).
    cr_expect_eq(p.guest_io.access_size, 1, "%s", describe_packet(&p));
    cr_expect(!p.guest_io.input, "%s", describe_packet(&p));
    cr_expect_eq(p.guest_io.u8, 0, "%s", describe_packet(&p));

    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// 7.
Test(zircon, vcpu_hlt) {
    fixture_t f;
    fixture_setup_and_interrupt(&f, ROUTINE(vcpu_hlt));
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// 8.
Test(zircon, vcpu_pause) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// 9. Zircon keeps CR0.NE set whatever the guest writes (spec §3.4: NE in the CR0 guest/host mask
// and read shadow). KVM gives user space no CR0 exit, so no library on KVM can do that
// (host-kvm.md): NE reading back clear is skipped as that known limitation; any other CR0 fails.
Test(zircon, vcpu_write_cr0) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_write_cr0));
    resume_and_clean_exit(&f);

    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    const uint64_t pe_pg = 0x80000001u;
    cr_assert_eq(s.rax & pe_pg, pe_pg, "CR0 %#lx: PE and PG should be set (64-bit mode)",
                 (unsigned long)s.rax);
    if (!(s.rax & X86_CR0_NE)) {
        fixture_teardown(&f);
        cr_skip_test("CR0.NE read back clear (CR0 %#lx): KVM gives user space no CR0 exit, so "
                     "NE cannot be kept set as on Zircon (host-kvm.md)",
                     (unsigned long)s.rax);
    }
    fixture_teardown(&f);
}

// 10.
Test(zircon, vcpu_compat_mode) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_compat_mode));
    resume_and_clean_exit(&f);

    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rbx, 1u, "rbx %#lx: the 32-bit part did not run in compatibility mode",
                 (unsigned long)s.rbx);
    cr_expect_eq(s.rcx, 2u, "rcx %#lx: the 16-bit part did not run with 16-bit operands",
                 (unsigned long)s.rcx);
    fixture_teardown(&f);
}

// 11.
Test(zircon, vcpu_syscall) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_syscall));
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// SYSENTER and SYSEXIT are #UD in long mode (64-bit and compatibility) on AMD CPUs, and KVM
// follows the vendor the guest sees (host-kvm.md); Zircon ran on Intel only. So the test runs
// everywhere and must end in the clean exit, except that where the guest's CPUID vendor is AMD's
// the instructions are outside the architecture: there a clean exit still passes, and any other
// outcome (a #UD reported through the IDT and TSS of guest_tables, or whatever an emulating host
// makes of them) is skipped as that known limitation, saying what was seen.
static bool is_amd_vendor(const char* vendor) {
    return strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0;
}

static void run_sysenter_test(const uint8_t* start, const uint8_t* end) {
    char guest[13], host[13];
    guest_cpu_vendor(guest);
    host_cpu_vendor(host);

    fixture_t f;
    fixture_setup(&f, start, end);
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    zx_status_t status = zx_vcpu_resume(f.vcpu, &p);
    if (is_amd_vendor(guest)) {
        char seen[320];
        uint32_t imm = 1;
        if (status == ZX_OK && p.type == ZX_PKT_TYPE_GUEST_MEM && p.guest_mem.inst_len == 12) {
            memcpy(&imm, &p.guest_mem.inst_buf[8], sizeof(imm));
        }
        if (status != ZX_OK) {
            snprintf(seen, sizeof(seen), "zx_vcpu_resume: %s", zx_status_get_string(status));
        } else if (imm == UINT32_MAX) {
            zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
            snprintf(seen, sizeof(seen), "guest exception %lu at rip %#lx",
                     (unsigned long)s.rax, (unsigned long)s.rcx);
        } else if (imm != 0 || p.guest_mem.addr != EXIT_TEST_ADDR) {
            snprintf(seen, sizeof(seen), "%s", describe_packet(&p));
        } else {
            seen[0] = '\0';
        }
        if (seen[0] != '\0') {
            fixture_teardown(&f);
            cr_skip_test("SYSENTER/SYSEXIT in long mode are #UD on AMD-vendor CPUs (the guest's "
                         "CPUID vendor is %s, KVM_GET_SUPPORTED_CPUID says %s; seen: %s)",
                         guest, host, seen);
        }
    }
    ASSERT_STATUS(status, ZX_OK);
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_MEM, "expected the exit store, got %s",
                 describe_packet(&p));
    cr_assert_eq(p.guest_mem.addr, EXIT_TEST_ADDR, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_mem.default_operand_size, 4, "%s", describe_packet(&p));
    cr_assert(!exception_thrown(&f, &p.guest_mem), "%s (guest CPUID vendor %s)",
              describe_packet(&p), guest);
    fixture_teardown(&f);
}

// 12.
Test(zircon, vcpu_sysenter) {
    run_sysenter_test(ROUTINE(vcpu_sysenter));
}

// 13.
Test(zircon, vcpu_sysenter_compat) {
    run_sysenter_test(ROUTINE(vcpu_sysenter_compat));
}

// 14. On some hosts VMCALL never completes (host-kvm.md): a watchdog kicks the VCPU after
// VMCALL_PATIENCE_S, and a resume cancelled that way is skipped as that known limitation.
#define VMCALL_PATIENCE_S 10

struct watchdog {
    zx_handle_t vcpu;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;          // the resume returned
    bool kicked;
    zx_status_t kick_status;
};

static void* watchdog_thread(void* arg) {
    struct watchdog* w = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += VMCALL_PATIENCE_S;
    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) == ETIMEDOUT) break;
    }
    if (!w->done) {
        w->kicked = true;
        w->kick_status = zx_vcpu_kick(w->vcpu);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

Test(zircon, vcpu_vmcall) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_vmcall));

    struct watchdog w = {.vcpu = f.vcpu, .kick_status = ZX_OK};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, &attr);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, watchdog_thread, &w), 0);

    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    zx_status_t status = zx_vcpu_resume(f.vcpu, &p);

    pthread_mutex_lock(&w.lock);
    w.done = true;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    cr_assert_eq(pthread_join(thread, NULL), 0);
    ASSERT_STATUS(w.kick_status, ZX_OK);

    if (status == ZX_ERR_CANCELED && w.kicked) {
        fixture_teardown(&f);
        cr_skip_test("VMCALL did not complete on this host (host-kvm.md): no exit within %d s",
                     VMCALL_PATIENCE_S);
    }
    ASSERT_STATUS(status, ZX_OK);
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_MEM, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_mem.addr, EXIT_TEST_ADDR, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_mem.default_operand_size, 4, "%s", describe_packet(&p));
    cr_assert(!exception_thrown(&f, &p.guest_mem), "%s", describe_packet(&p));

    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rax, (uint64_t)-1000, "rax %#lx after the unknown hypercall, want -1000",
                 (unsigned long)s.rax);

    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    pthread_condattr_destroy(&attr);
    fixture_teardown(&f);
}
