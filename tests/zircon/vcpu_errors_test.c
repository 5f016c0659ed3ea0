// zxhv tests: every error path of zx_vcpu_create, zx_vcpu_resume, zx_vcpu_read_state,
// zx_vcpu_write_state, zx_vcpu_interrupt, zx_vcpu_kick and zx_guest_set_trap, in the order the
// reference code checks them (spec §1.2-§1.8, §3.5), and a guest with two VCPUs on two threads.
// Public API only; the fixture of the Zircon suite (fixture.h).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zircon/rights.h>
#include <zircon/syscalls/object.h>

#include "fixture.h"

GUEST_ROUTINE(vcpu_pause);
GUEST_ROUTINE(vcpu_interrupt);
GUEST_ROUTINE(io_in8);
GUEST_ROUTINE(io_in16);
GUEST_ROUTINE(io_in32);
GUEST_ROUTINE(rflags_probe);
GUEST_ROUTINE(rflags_sti);
GUEST_ROUTINE(unmapped_gpa);
GUEST_ROUTINE(untrapped_io);
GUEST_ROUTINE(high_gpa);
GUEST_ROUTINE(triple_fault);
GUEST_ROUTINE(string_io);
GUEST_ROUTINE(rep_string_io);
GUEST_ROUTINE(bsp_counter);
GUEST_ROUTINE(ap_counter);

// As in x86_vcpu.S.
#define PORT_A 0x30
#define PORT_B 0x31
#define HIGH_LINEAR 0x40000000ull
#define COUNT 50

#define GUEST_ASPACE_SIZE (1ull << 48)  // x86 (spec §1.1)
#define MAX_VCPUS 64                    // VPIDs per guest (spec §1.3 step 4)
#define STATE_SIZE sizeof(zx_vcpu_state_t)  // 136

// X86_FLAGS_* (spec §2.9).
#define FLAG_CF 0x1u
#define FLAG_RESERVED_ONE 0x2u
#define FLAG_ZF 0x40u
#define FLAG_IF 0x200u
#define FLAG_DF 0x400u
#define FLAG_IOPL 0x3000u
#define FLAGS_USER 0x244dd5u

TestSuite(vcpu, .timeout = 120.0);

// --- helpers ------------------------------------------------------------------------------------

static zx_handle_t dup_with(zx_handle_t h, zx_rights_t rights) {
    zx_handle_t d = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_handle_duplicate(h, rights, &d));
    return d;
}

static zx_info_handle_basic_t handle_info(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0xa5, sizeof(info));
    ASSERT_OK(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    return info;
}

// A handle value that names nothing: a port's, after the port was closed.
static zx_handle_t stale_handle(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_port_create(0, &h));
    ASSERT_OK(zx_handle_close(h));
    return h;
}

static zx_handle_t make_port(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_port_create(0, &h));
    return h;
}

static void* readonly_page(void) {
    void* p = mmap(NULL, GUEST_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    return p;
}

// A pointer no caller owns (in the never-mapped first page).
#define BAD_PTR ((void*)8)

// Runs |fn(arg)| on a new thread and returns its status.
typedef zx_status_t (*thread_fn)(void* arg);

struct thread_call {
    thread_fn fn;
    void* arg;
    zx_status_t status;
};

static void* thread_call_main(void* p) {
    struct thread_call* c = p;
    c->status = c->fn(c->arg);
    return NULL;
}

static zx_status_t on_other_thread(thread_fn fn, void* arg) {
    struct thread_call c = {.fn = fn, .arg = arg, .status = ZX_ERR_INTERNAL};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, thread_call_main, &c), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    return c.status;
}

// The arguments of one read_state / write_state / resume call.
struct state_call {
    zx_handle_t vcpu;
    uint32_t kind;
    void* buffer;
    size_t len;
};

static zx_status_t call_read_state(void* arg) {
    struct state_call* c = arg;
    return zx_vcpu_read_state(c->vcpu, c->kind, c->buffer, c->len);
}

static zx_status_t call_write_state(void* arg) {
    struct state_call* c = arg;
    return zx_vcpu_write_state(c->vcpu, c->kind, c->buffer, c->len);
}

static zx_status_t call_resume(void* arg) {
    struct state_call* c = arg;
    return zx_vcpu_resume(c->vcpu, c->buffer);
}

// Resumes and expects a GUEST_IO packet for |port| (trapped with key |port|).
static zx_port_packet_t resume_expect_io(fixture_t* f, uint16_t port, bool input, uint8_t size) {
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    ASSERT_OK(zx_vcpu_resume(f->vcpu, &p));
    cr_assert_eq(p.type, ZX_PKT_TYPE_GUEST_IO, "%s", describe_packet(&p));
    cr_assert_eq(p.key, port, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_io.port, port, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_io.input, input, "%s", describe_packet(&p));
    cr_assert_eq(p.guest_io.access_size, size, "%s", describe_packet(&p));
    return p;
}

// Resumes and expects |want| (an error: no packet).
static void resume_expect_error(fixture_t* f, zx_status_t want) {
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    zx_status_t got = zx_vcpu_resume(f->vcpu, &p);
    cr_assert_eq(got, want, "zx_vcpu_resume: got %s (%d)%s%s, want %s", zx_status_get_string(got),
                 got, got == ZX_OK ? " with " : "", got == ZX_OK ? describe_packet(&p) : "",
                 zx_status_get_string(want));
}

// --- zx_vcpu_create (spec §1.3) -----------------------------------------------------------------

Test(vcpu, create_checks_options_before_the_handle) {
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(ZX_HANDLE_INVALID, 1, GUEST_ENTRY, &out), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_create(stale_handle(), 0x80000000u, GUEST_ENTRY, &out),
                  ZX_ERR_INVALID_ARGS);
    fixture_t f;
    fixture_make_guest(&f);
    ASSERT_STATUS(zx_vcpu_create(f.guest, 1, GUEST_ENTRY, &out), ZX_ERR_INVALID_ARGS);
    cr_expect_eq(out, ZX_HANDLE_INVALID);
    fixture_teardown(&f);
}

Test(vcpu, create_bad_handle) {
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(ZX_HANDLE_INVALID, 0, GUEST_ENTRY, &out), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vcpu_create(stale_handle(), 0, GUEST_ENTRY, &out), ZX_ERR_BAD_HANDLE);
}

Test(vcpu, create_needs_manage_process) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t weak = dup_with(f.guest, ZX_DEFAULT_GUEST_RIGHTS & ~ZX_RIGHT_MANAGE_PROCESS);
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(weak, 0, GUEST_ENTRY, &out), ZX_ERR_ACCESS_DENIED);
    // MANAGE_PROCESS alone is enough.
    zx_handle_t manage = dup_with(f.guest, ZX_RIGHT_MANAGE_PROCESS);
    ASSERT_OK(zx_vcpu_create(manage, 0, GUEST_ENTRY, &out));
    ASSERT_OK(zx_handle_close(out));
    ASSERT_OK(zx_handle_close(weak));
    ASSERT_OK(zx_handle_close(manage));
    fixture_teardown(&f);
}

// The reference looks rights up before the type (GetDispatcherWithRights): a handle to another
// object lacks MANAGE_PROCESS, so it is ACCESS_DENIED, not WRONG_TYPE.
Test(vcpu, create_on_other_objects_is_access_denied) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(f.vmo, 0, GUEST_ENTRY, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_create(f.vmar, 0, GUEST_ENTRY, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_create(port, 0, GUEST_ENTRY, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

Test(vcpu, create_entry_must_be_in_the_guest_aspace) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ASPACE_SIZE, &out), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_create(f.guest, 0, UINT64_MAX, &out), ZX_ERR_INVALID_ARGS);
    // The last address of the aspace is accepted (entry >= size is the test).
    ASSERT_OK(zx_vcpu_create(f.guest, 0, GUEST_ASPACE_SIZE - 1, &out));
    ASSERT_OK(zx_handle_close(out));
    fixture_teardown(&f);
}

Test(vcpu, create_default_rights_and_type) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_info_handle_basic_t info = handle_info(f.vcpu);
    cr_expect_eq(info.type, ZX_OBJ_TYPE_VCPU);
    cr_expect_eq(info.rights, ZX_DEFAULT_VCPU_RIGHTS, "rights %#x, want %#x", info.rights,
                 ZX_DEFAULT_VCPU_RIGHTS);
    cr_expect_eq(ZX_DEFAULT_VCPU_RIGHTS, 0xd01fu);
    fixture_teardown(&f);
}

// Fills the guest's 64 VCPUs; returns how many were made (the handles in |out|).
static int create_all(fixture_t* f, zx_handle_t out[MAX_VCPUS]) {
    for (int i = 0; i < MAX_VCPUS; i++) {
        out[i] = ZX_HANDLE_INVALID;
        zx_status_t status = zx_vcpu_create(f->guest, 0, GUEST_ENTRY, &out[i]);
        cr_assert_eq(status, ZX_OK, "VCPU %d of %d: %s", i + 1, MAX_VCPUS,
                     zx_status_get_string(status));
    }
    return MAX_VCPUS;
}

static void close_all(zx_handle_t h[MAX_VCPUS]) {
    for (int i = 0; i < MAX_VCPUS; i++) {
        if (h[i] != ZX_HANDLE_INVALID) ASSERT_OK(zx_handle_close(h[i]));
        h[i] = ZX_HANDLE_INVALID;
    }
}

Test(vcpu, create_65th_vcpu_is_no_resources) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t vcpus[MAX_VCPUS];
    create_all(&f, vcpus);
    zx_handle_t extra = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, &extra), ZX_ERR_NO_RESOURCES);
    // Closing one gives its VPID back.
    ASSERT_OK(zx_handle_close(vcpus[17]));
    vcpus[17] = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, &vcpus[17]));
    ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, &extra), ZX_ERR_NO_RESOURCES);
    close_all(vcpus);
    fixture_teardown(&f);
}

Test(vcpu, create_bad_out_pointer_is_invalid_args_and_spends_no_vcpu) {
    fixture_t f;
    fixture_make_guest(&f);
    for (int i = 0; i < 3; i++) {
        ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, NULL), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, BAD_PTR), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, readonly_page()),
                      ZX_ERR_INVALID_ARGS);
    }
    // All 64 VCPUs can still be made.
    zx_handle_t vcpus[MAX_VCPUS];
    create_all(&f, vcpus);
    zx_handle_t extra = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_vcpu_create(f.guest, 0, GUEST_ENTRY, &extra), ZX_ERR_NO_RESOURCES);
    close_all(vcpus);
    fixture_teardown(&f);
}

// --- zx_vcpu_resume (spec §1.4, §3.5) -----------------------------------------------------------

Test(vcpu, resume_handle_errors) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_port_packet_t p;
    zx_handle_t no_exec = dup_with(f.vcpu, ZX_DEFAULT_VCPU_RIGHTS & ~ZX_RIGHT_EXECUTE);
    ASSERT_STATUS(zx_vcpu_resume(no_exec, &p), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_resume(ZX_HANDLE_INVALID, &p), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vcpu_resume(stale_handle(), &p), ZX_ERR_BAD_HANDLE);
    // A VMO has EXECUTE (spec §1.9): WRONG_TYPE. A guest has not: ACCESS_DENIED.
    ASSERT_STATUS(zx_vcpu_resume(f.vmo, &p), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vcpu_resume(f.guest, &p), ZX_ERR_ACCESS_DENIED);
    // EXECUTE alone is enough.
    zx_handle_t exec_only = dup_with(f.vcpu, ZX_RIGHT_EXECUTE);
    memset(&p, 0, sizeof(p));
    ASSERT_OK(zx_vcpu_resume(exec_only, &p));
    cr_expect_eq(p.type, ZX_PKT_TYPE_GUEST_MEM, "%s", describe_packet(&p));
    cr_expect_eq(p.guest_mem.addr, EXIT_TEST_ADDR, "%s", describe_packet(&p));
    ASSERT_OK(zx_handle_close(no_exec));
    ASSERT_OK(zx_handle_close(exec_only));
    fixture_teardown(&f);
}

Test(vcpu, resume_null_packet_is_invalid_args) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    ASSERT_STATUS(zx_vcpu_resume(f.vcpu, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_resume(f.vcpu, BAD_PTR), ZX_ERR_INVALID_ARGS);
    fixture_teardown(&f);
}

Test(vcpu, resume_on_another_thread_is_bad_state) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_port_packet_t p;
    struct state_call c = {.vcpu = f.vcpu, .buffer = &p};
    ASSERT_STATUS(on_other_thread(call_resume, &c), ZX_ERR_BAD_STATE);
    // The creating thread still runs it.
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

Test(vcpu, resume_unmapped_gpa_is_not_found) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(unmapped_gpa));
    resume_expect_error(&f, ZX_ERR_NOT_FOUND);
    fixture_teardown(&f);
}

Test(vcpu, resume_untrapped_io_port_is_not_found) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(untrapped_io));
    resume_expect_error(&f, ZX_ERR_NOT_FOUND);
    fixture_teardown(&f);
}

// A GPA >= 2^48 can only be named by a page-table entry if the guest's MAXPHYADDR is above 48
// (bits at or above MAXPHYADDR are reserved: the guest takes a page fault instead).
Test(vcpu, resume_gpa_above_2_48_is_out_of_range) {
    unsigned maxphyaddr = host_guest_maxphyaddr();
    if (maxphyaddr <= 48) {
        cr_skip_test("the guest's physical addresses are %u bits (KVM_GET_SUPPORTED_CPUID leaf "
                     "0x80000008): no page table can name a GPA >= 2^48, so the OUT_OF_RANGE "
                     "exit cannot be reached on this host",
                     maxphyaddr);
    }
    fixture_t f;
    fixture_make_guest(&f);
    // Linear [1 GiB, 1 GiB + 2 MiB) -> GPA [2^48, 2^48 + 2 MiB).
    uint64_t* pdpt = (uint64_t*)(f.host + PDPT_ADDR);
    uint64_t* pd2 = (uint64_t*)(f.host + PD2_ADDR);
    pdpt[HIGH_LINEAR >> 30] = PD2_ADDR | PTE_P | PTE_RW | PTE_U;
    pd2[0] = GUEST_ASPACE_SIZE | PTE_PS | PTE_P | PTE_RW | PTE_U;
    fixture_load(&f, GUEST_ENTRY, ROUTINE(high_gpa));
    f.vcpu = fixture_create_vcpu(&f, GUEST_ENTRY);
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    zx_status_t status = zx_vcpu_resume(f.vcpu, &p);
    if (status == ZX_OK && p.type == ZX_PKT_TYPE_GUEST_MEM) exception_thrown(&f, &p.guest_mem);
    cr_assert_eq(status, ZX_ERR_OUT_OF_RANGE, "zx_vcpu_resume: %s%s%s",
                 zx_status_get_string(status), status == ZX_OK ? " with " : "",
                 status == ZX_OK ? describe_packet(&p) : "");
    fixture_teardown(&f);
}

Test(vcpu, resume_triple_fault_is_not_supported) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(triple_fault));
    resume_expect_error(&f, ZX_ERR_NOT_SUPPORTED);
    fixture_teardown(&f);
}

// String and REP IO are not supported even on a trapped port (spec §3.5: checked before the trap
// lookup).
Test(vcpu, resume_string_io_is_not_supported) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(string_io));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, TRAP_PORT, 1, ZX_HANDLE_INVALID,
                                TRAP_KEY));
    resume_expect_error(&f, ZX_ERR_NOT_SUPPORTED);
    fixture_teardown(&f);
}

Test(vcpu, resume_rep_string_io_is_not_supported) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(rep_string_io));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, TRAP_PORT, 1, ZX_HANDLE_INVALID,
                                TRAP_KEY));
    resume_expect_error(&f, ZX_ERR_NOT_SUPPORTED);
    fixture_teardown(&f);
}

// --- zx_vcpu_read_state / zx_vcpu_write_state (spec §1.6, §1.7) -------------------------------

Test(vcpu, state_handle_errors) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_vcpu_state_t s;
    memset(&s, 0, sizeof(s));
    zx_handle_t no_read = dup_with(f.vcpu, ZX_DEFAULT_VCPU_RIGHTS & ~ZX_RIGHT_READ);
    zx_handle_t no_write = dup_with(f.vcpu, ZX_DEFAULT_VCPU_RIGHTS & ~ZX_RIGHT_WRITE);
    ASSERT_STATUS(zx_vcpu_read_state(no_read, ZX_VCPU_STATE, &s, STATE_SIZE),
                  ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_write_state(no_write, ZX_VCPU_STATE, &s, STATE_SIZE),
                  ZX_ERR_ACCESS_DENIED);
    // The other right is not needed.
    ASSERT_OK(zx_vcpu_read_state(no_write, ZX_VCPU_STATE, &s, STATE_SIZE));
    ASSERT_OK(zx_vcpu_write_state(no_read, ZX_VCPU_STATE, &s, STATE_SIZE));
    // Rights before arguments.
    ASSERT_STATUS(zx_vcpu_read_state(no_read, 99, NULL, 1000), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_write_state(no_write, 99, NULL, 1000), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_read_state(ZX_HANDLE_INVALID, ZX_VCPU_STATE, &s, STATE_SIZE),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vcpu_write_state(stale_handle(), ZX_VCPU_STATE, &s, STATE_SIZE),
                  ZX_ERR_BAD_HANDLE);
    // A VMO has READ and WRITE: WRONG_TYPE.
    ASSERT_STATUS(zx_vcpu_read_state(f.vmo, ZX_VCPU_STATE, &s, STATE_SIZE), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vcpu_write_state(f.vmo, ZX_VCPU_STATE, &s, STATE_SIZE), ZX_ERR_WRONG_TYPE);
    ASSERT_OK(zx_handle_close(no_read));
    ASSERT_OK(zx_handle_close(no_write));
    fixture_teardown(&f);
}

Test(vcpu, state_len_above_136_is_invalid_args_first) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    uint8_t buf[512];
    memset(buf, 0, sizeof(buf));
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_STATE, buf, STATE_SIZE + 1),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, buf, STATE_SIZE + 1),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, buf, sizeof(buf)),
                  ZX_ERR_INVALID_ARGS);
    // The length is checked before the thread.
    struct state_call c = {.vcpu = f.vcpu, .kind = ZX_VCPU_STATE, .buffer = buf,
                           .len = STATE_SIZE + 1};
    ASSERT_STATUS(on_other_thread(call_read_state, &c), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(on_other_thread(call_write_state, &c), ZX_ERR_INVALID_ARGS);
    fixture_teardown(&f);
}

Test(vcpu, state_on_another_thread_is_bad_state) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_vcpu_state_t s;
    memset(&s, 0, sizeof(s));
    struct state_call c = {.vcpu = f.vcpu, .kind = ZX_VCPU_STATE, .buffer = &s,
                           .len = STATE_SIZE};
    ASSERT_STATUS(on_other_thread(call_read_state, &c), ZX_ERR_BAD_STATE);
    ASSERT_STATUS(on_other_thread(call_write_state, &c), ZX_ERR_BAD_STATE);
    // The thread is checked before the kind and the exact size.
    c.kind = 7;
    ASSERT_STATUS(on_other_thread(call_read_state, &c), ZX_ERR_BAD_STATE);
    ASSERT_STATUS(on_other_thread(call_write_state, &c), ZX_ERR_BAD_STATE);
    c.kind = ZX_VCPU_STATE;
    c.len = 8;
    ASSERT_STATUS(on_other_thread(call_read_state, &c), ZX_ERR_BAD_STATE);
    ASSERT_STATUS(on_other_thread(call_write_state, &c), ZX_ERR_BAD_STATE);
    // read_state copies out after the thread check, write_state copies in before it.
    c.len = STATE_SIZE;
    c.buffer = BAD_PTR;
    ASSERT_STATUS(on_other_thread(call_read_state, &c), ZX_ERR_BAD_STATE);
    ASSERT_STATUS(on_other_thread(call_write_state, &c), ZX_ERR_INVALID_ARGS);
    fixture_teardown(&f);
}

Test(vcpu, state_bad_kind_or_size_is_invalid_args) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    uint8_t buf[STATE_SIZE];
    memset(buf, 0, sizeof(buf));
    zx_vcpu_io_t io = {.access_size = 1};
    // read_state knows ZX_VCPU_STATE only, at exactly 136 bytes.
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_IO, &io, sizeof(io)), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, 2, buf, STATE_SIZE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_STATE, buf, STATE_SIZE - 1),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_STATE, buf, 0), ZX_ERR_INVALID_ARGS);
    // write_state: ZX_VCPU_STATE at 136 bytes, ZX_VCPU_IO at 8.
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, 2, buf, STATE_SIZE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, UINT32_MAX, buf, sizeof(io)), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, buf, STATE_SIZE - 8),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, &io, sizeof(io)),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, buf, STATE_SIZE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, &io, 4), ZX_ERR_INVALID_ARGS);
    fixture_teardown(&f);
}

Test(vcpu, state_bad_buffer_is_invalid_args) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_STATE, NULL, STATE_SIZE),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_STATE, BAD_PTR, STATE_SIZE),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_read_state(f.vcpu, ZX_VCPU_STATE, readonly_page(), STATE_SIZE),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, NULL, STATE_SIZE),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, BAD_PTR, STATE_SIZE),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, BAD_PTR, sizeof(zx_vcpu_io_t)),
                  ZX_ERR_INVALID_ARGS);
    // Nothing was harmed.
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// spec §3.4: a new VCPU's registers are 0 and RFLAGS is 0x2, which reads as 0 (the mask drops
// bit 1).
Test(vcpu, state_of_a_new_vcpu_is_zero) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    zx_vcpu_state_t zero;
    memset(&zero, 0, sizeof(zero));
    cr_expect(memcmp(&s, &zero, sizeof(s)) == 0,
              "rax %#lx rcx %#lx rdx %#lx rbx %#lx rsp %#lx rbp %#lx rflags %#lx",
              (unsigned long)s.rax, (unsigned long)s.rcx, (unsigned long)s.rdx,
              (unsigned long)s.rbx, (unsigned long)s.rsp, (unsigned long)s.rbp,
              (unsigned long)s.rflags);
    fixture_teardown(&f);
}

Test(vcpu, state_round_trip) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_vcpu_state_t in;
    uint64_t* words = (uint64_t*)&in;
    for (int i = 0; i < 16; i++) words[i] = 0x0101010101010101ull * (uint64_t)(i + 1);
    in.rflags = 0;
    ASSERT_OK(zx_vcpu_write_state(f.vcpu, ZX_VCPU_STATE, &in, sizeof(in)));
    zx_vcpu_state_t out = read_vcpu_state(f.vcpu);
    const uint64_t* got = (const uint64_t*)&out;
    for (int i = 0; i < 16; i++) {
        cr_expect_eq(got[i], words[i], "register %d: %#lx, want %#lx", i, (unsigned long)got[i],
                     (unsigned long)words[i]);
    }
    cr_expect_eq(out.rflags, 0u);
    fixture_teardown(&f);
}

// Runs rflags_probe after writing |rflags| (rsp = STACK_TOP); returns what the guest saw.
static uint64_t guest_rflags_after_writing(fixture_t* f, uint64_t rflags, uint64_t* read_back) {
    fixture_setup(f, ROUTINE(rflags_probe));
    zx_vcpu_state_t in;
    memset(&in, 0, sizeof(in));
    in.rsp = STACK_TOP;
    in.rflags = rflags;
    ASSERT_OK(zx_vcpu_write_state(f->vcpu, ZX_VCPU_STATE, &in, sizeof(in)));
    resume_and_clean_exit(f);
    zx_vcpu_state_t s = read_vcpu_state(f->vcpu);
    *read_back = s.rflags;
    return s.rax;
}

// With bit 1 set, the user flags (mask 0x244DD5) are applied and the others kept (spec §1.7).
Test(vcpu, write_state_rflags_applies_user_flags_when_bit_1_is_set) {
    fixture_t f;
    uint64_t read_back;
    uint64_t seen = guest_rflags_after_writing(
        &f, FLAG_RESERVED_ONE | FLAG_CF | FLAG_ZF | FLAG_DF | FLAG_IF | FLAG_IOPL, &read_back);
    cr_expect_eq(seen, FLAG_RESERVED_ONE | FLAG_CF | FLAG_ZF | FLAG_DF,
                 "the guest saw RFLAGS %#lx: want CF|ZF|DF and bit 1, not IF or IOPL",
                 (unsigned long)seen);
    cr_expect_eq(read_back, FLAG_CF | FLAG_ZF | FLAG_DF, "read_state rflags %#lx",
                 (unsigned long)read_back);
    fixture_teardown(&f);
}

Test(vcpu, write_state_rflags_is_ignored_without_bit_1) {
    fixture_t f;
    uint64_t read_back;
    uint64_t seen = guest_rflags_after_writing(&f, FLAG_CF | FLAG_ZF | FLAG_DF, &read_back);
    cr_expect_eq(seen, FLAG_RESERVED_ONE, "the guest saw RFLAGS %#lx, want the initial 0x2",
                 (unsigned long)seen);
    cr_expect_eq(read_back, 0u, "read_state rflags %#lx", (unsigned long)read_back);
    fixture_teardown(&f);
}

Test(vcpu, read_state_masks_rflags) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(rflags_sti));
    resume_and_clean_exit(&f);
    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rax & (FLAG_IF | FLAG_CF | FLAG_RESERVED_ONE),
                 FLAG_IF | FLAG_CF | FLAG_RESERVED_ONE, "the guest's RFLAGS %#lx",
                 (unsigned long)s.rax);
    cr_expect_eq(s.rflags, s.rax & FLAGS_USER, "read_state rflags %#lx, guest RFLAGS %#lx",
                 (unsigned long)s.rflags, (unsigned long)s.rax);
    cr_expect_eq(s.rflags & (FLAG_IF | FLAG_RESERVED_ONE), 0u);
    fixture_teardown(&f);
}

// IN from a trapped port, answered with ZX_VCPU_IO: the first access_size bytes of RAX change.
static void check_in(const uint8_t* start, const uint8_t* end, uint8_t size, uint64_t want_rax) {
    fixture_t f;
    fixture_setup(&f, start, end);
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, PORT_A, 1, ZX_HANDLE_INVALID,
                                PORT_A));
    resume_expect_io(&f, PORT_A, true, size);
    zx_vcpu_io_t io = {.access_size = size, .data = {0xab, 0xcd, 0xef, 0x01}};
    ASSERT_OK(zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, &io, sizeof(io)));
    resume_and_clean_exit(&f);
    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rax, want_rax, "rax %#lx after IN of %u bytes, want %#lx",
                 (unsigned long)s.rax, size, (unsigned long)want_rax);
    fixture_teardown(&f);
}

Test(vcpu, write_state_io_answers_in8) {
    check_in(ROUTINE(io_in8), 1, 0x11223344556677abull);
}

Test(vcpu, write_state_io_answers_in16) {
    check_in(ROUTINE(io_in16), 2, 0x112233445566cdabull);
}

// A 32-bit IN zero-extends into RAX (spec §3.5).
Test(vcpu, write_state_io_answers_in32) {
    check_in(ROUTINE(io_in32), 4, 0x01efcdabull);
}

// Without ZX_VCPU_IO, an IN leaves RAX as it was, except that a 32-bit IN clears it (spec §3.5).
static void check_unanswered_in(const uint8_t* start, const uint8_t* end, uint8_t size,
                                uint64_t want_rax) {
    fixture_t f;
    fixture_setup(&f, start, end);
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, PORT_A, 1, ZX_HANDLE_INVALID,
                                PORT_A));
    resume_expect_io(&f, PORT_A, true, size);
    resume_and_clean_exit(&f);
    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rax, want_rax, "rax %#lx after an unanswered IN of %u bytes, want %#lx",
                 (unsigned long)s.rax, size, (unsigned long)want_rax);
    fixture_teardown(&f);
}

Test(vcpu, unanswered_in8_leaves_rax) {
    check_unanswered_in(ROUTINE(io_in8), 1, 0x1122334455667788ull);
}

Test(vcpu, unanswered_in32_clears_rax) {
    check_unanswered_in(ROUTINE(io_in32), 4, 0);
}

// Only access sizes 1, 2 and 4 are accepted (spec §1.7: the later Zircon rule, spec rule 5).
Test(vcpu, write_state_io_bad_access_size_is_invalid_args) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(io_in8));
    ASSERT_OK(zx_guest_set_trap(f.guest, ZX_GUEST_TRAP_IO, PORT_A, 1, ZX_HANDLE_INVALID,
                                PORT_A));
    resume_expect_io(&f, PORT_A, true, 1);
    const uint8_t bad[] = {0, 3, 5, 8, 16, 255};
    for (size_t i = 0; i < sizeof(bad); i++) {
        zx_vcpu_io_t io = {.access_size = bad[i], .data = {0x99, 0x99, 0x99, 0x99}};
        zx_status_t status = zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, &io, sizeof(io));
        cr_expect_eq(status, ZX_ERR_INVALID_ARGS, "access_size %u: %s", bad[i],
                     zx_status_get_string(status));
    }
    // None of them reached RAX; a good one still does.
    zx_vcpu_io_t io = {.access_size = 1, .data = {0x42}};
    ASSERT_OK(zx_vcpu_write_state(f.vcpu, ZX_VCPU_IO, &io, sizeof(io)));
    resume_and_clean_exit(&f);
    zx_vcpu_state_t s = read_vcpu_state(f.vcpu);
    cr_expect_eq(s.rax, 0x1122334455667742ull, "rax %#lx", (unsigned long)s.rax);
    fixture_teardown(&f);
}

// --- zx_vcpu_interrupt (spec §1.5) --------------------------------------------------------------

Test(vcpu, interrupt_errors) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_handle_t no_signal = dup_with(f.vcpu, ZX_DEFAULT_VCPU_RIGHTS & ~ZX_RIGHT_SIGNAL);
    ASSERT_STATUS(zx_vcpu_interrupt(no_signal, 32), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_interrupt(no_signal, 1000), ZX_ERR_ACCESS_DENIED);  // rights first
    ASSERT_STATUS(zx_vcpu_interrupt(ZX_HANDLE_INVALID, 32), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vcpu_interrupt(f.vmo, 32), ZX_ERR_WRONG_TYPE);  // a VMO has SIGNAL
    ASSERT_STATUS(zx_vcpu_interrupt(f.vcpu, 256), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_vcpu_interrupt(f.vcpu, UINT32_MAX), ZX_ERR_OUT_OF_RANGE);
    ASSERT_OK(zx_vcpu_interrupt(f.vcpu, 255));
    zx_handle_t signal_only = dup_with(f.vcpu, ZX_RIGHT_SIGNAL);
    ASSERT_OK(zx_vcpu_interrupt(signal_only, 254));
    ASSERT_OK(zx_handle_close(no_signal));
    ASSERT_OK(zx_handle_close(signal_only));
    fixture_teardown(&f);
}

// --- zx_vcpu_kick (spec §1.8) -------------------------------------------------------------------

Test(vcpu, kick_errors) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    zx_handle_t no_exec = dup_with(f.vcpu, ZX_DEFAULT_VCPU_RIGHTS & ~ZX_RIGHT_EXECUTE);
    ASSERT_STATUS(zx_vcpu_kick(no_exec), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vcpu_kick(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vcpu_kick(stale_handle()), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vcpu_kick(f.vmo), ZX_ERR_WRONG_TYPE);  // a VMO has EXECUTE
    ASSERT_STATUS(zx_vcpu_kick(f.guest), ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(no_exec));
    fixture_teardown(&f);
}

// Kicks before a resume cancel that one resume, however many there were; the next runs.
Test(vcpu, kick_cancels_the_next_resume_once) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_pause));
    ASSERT_OK(zx_vcpu_kick(f.vcpu));
    ASSERT_OK(zx_vcpu_kick(f.vcpu));
    zx_port_packet_t p;
    ASSERT_STATUS(zx_vcpu_resume(f.vcpu, &p), ZX_ERR_CANCELED);
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

static zx_status_t kick_later(void* arg) {
    zx_handle_t vcpu = *(zx_handle_t*)arg;
    zx_nanosleep(zx_deadline_after(ZX_MSEC(200)));
    return zx_vcpu_kick(vcpu);
}

struct kick_thread {
    pthread_t thread;
    struct thread_call call;
    zx_handle_t vcpu;
};

// A kick from another thread stops a spinning guest; it then goes on where it was.
Test(vcpu, kick_stops_a_running_vcpu) {
    fixture_t f;
    fixture_setup(&f, ROUTINE(vcpu_interrupt));  // spins with interrupts on
    struct kick_thread k = {.vcpu = f.vcpu};
    k.call = (struct thread_call){.fn = kick_later, .arg = &k.vcpu, .status = ZX_ERR_INTERNAL};
    cr_assert_eq(pthread_create(&k.thread, NULL, thread_call_main, &k.call), 0);
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    zx_status_t status = zx_vcpu_resume(f.vcpu, &p);
    cr_assert_eq(pthread_join(k.thread, NULL), 0);
    ASSERT_STATUS(k.call.status, ZX_OK);
    cr_assert_eq(status, ZX_ERR_CANCELED, "zx_vcpu_resume: %s%s%s", zx_status_get_string(status),
                 status == ZX_OK ? " with " : "", status == ZX_OK ? describe_packet(&p) : "");
    // Still spinning: vector 32 ends it.
    ASSERT_OK(zx_vcpu_interrupt(f.vcpu, 32));
    resume_and_clean_exit(&f);
    fixture_teardown(&f);
}

// --- zx_guest_set_trap (spec §1.2, x86 check order) ---------------------------------------------

#define MEM ZX_GUEST_TRAP_MEM
#define BELL ZX_GUEST_TRAP_BELL
#define IO ZX_GUEST_TRAP_IO
#define NO_PORT ZX_HANDLE_INVALID
#define PAGE GUEST_PAGE_SIZE
#define A 0x100000ull                          // a page-aligned GPA inside guest RAM
#define OVERFLOW_ADDR 0xfffffffffffff000ull    // + 2 pages wraps

// 1. The guest handle (WRITE), 2. the port (looked up only if given; WRITE), before any argument.
Test(vcpu, set_trap_checks_handles_first) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    zx_handle_t no_write = dup_with(f.guest, ZX_DEFAULT_GUEST_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t port_no_write = dup_with(port, ZX_DEFAULT_PORT_RIGHTS & ~ZX_RIGHT_WRITE);

    ASSERT_STATUS(zx_guest_set_trap(no_write, MEM, A, PAGE, NO_PORT, 0), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_guest_set_trap(no_write, 99, A + 1, 0, stale_handle(), 0),
                  ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_guest_set_trap(ZX_HANDLE_INVALID, MEM, A, PAGE, NO_PORT, 0),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_guest_set_trap(stale_handle(), MEM, A, PAGE, NO_PORT, 0),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_guest_set_trap(f.vmo, MEM, A, PAGE, NO_PORT, 0), ZX_ERR_WRONG_TYPE);

    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, PAGE, port_no_write, 0),
                  ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, 99, A + 1, 0, port_no_write, 0),
                  ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, PAGE, stale_handle(), 0),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, PAGE, f.vmo, 0), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, PAGE, f.guest, 0), ZX_ERR_WRONG_TYPE);

    // WRITE alone is enough, on both.
    zx_handle_t guest_write = dup_with(f.guest, ZX_RIGHT_WRITE);
    zx_handle_t port_write = dup_with(port, ZX_RIGHT_WRITE);
    ASSERT_OK(zx_guest_set_trap(guest_write, BELL, A, PAGE, port_write, 0));

    ASSERT_OK(zx_handle_close(no_write));
    ASSERT_OK(zx_handle_close(port_no_write));
    ASSERT_OK(zx_handle_close(guest_write));
    ASSERT_OK(zx_handle_close(port_write));
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// 3. len == 0, before the range and the kind.
Test(vcpu, set_trap_len_0_is_invalid_args) {
    fixture_t f;
    fixture_make_guest(&f);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A, 0, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x10, 0, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x20000, 0, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, UINT64_MAX, 0, NO_PORT, 0),
                  ZX_ERR_INVALID_ARGS);
    fixture_teardown(&f);
}

// 4. Overflow of addr + len, before the kind checks and the alignment.
Test(vcpu, set_trap_overflow_is_out_of_range) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, OVERFLOW_ADDR, 2 * PAGE, NO_PORT, 0),
                  ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, OVERFLOW_ADDR, 2 * PAGE, port, 0),
                  ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, OVERFLOW_ADDR, 2 * PAGE, NO_PORT, 0),
                  ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, UINT64_MAX, 1, port, 0), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, 99, OVERFLOW_ADDR, 2 * PAGE, NO_PORT, 0),
                  ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, OVERFLOW_ADDR + 1, 2 * PAGE, NO_PORT, 0),
                  ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, 1, UINT64_MAX, NO_PORT, 0),
                  ZX_ERR_OUT_OF_RANGE);
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// 5. Port rules by kind, before the IO range and the MEM/BELL alignment and aspace checks.
Test(vcpu, set_trap_port_rules) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A, PAGE, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A + 1, 5, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, PAGE, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x40, 1, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0xffff, 1, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x10000, 0x10, port, 0), ZX_ERR_INVALID_ARGS);
    // None of them was installed.
    ASSERT_OK(zx_guest_set_trap(f.guest, BELL, A, PAGE, port, 0));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x40, 1, NO_PORT, 0));
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// IO: addr + len > 0xFFFF is OUT_OF_RANGE (so port 0xFFFF cannot be trapped); no alignment.
Test(vcpu, set_trap_io_range) {
    fixture_t f;
    fixture_make_guest(&f);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0xffff, 1, NO_PORT, 0), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0, 0x10000, NO_PORT, 0), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x10000, 1, NO_PORT, 0), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0xfff0, 0x10, NO_PORT, 0), ZX_ERR_OUT_OF_RANGE);
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0xfffe, 1, NO_PORT, 0));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0, 0xffff, NO_PORT, 0));  // overlaps: fine
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x13, 3, NO_PORT, 0));
    fixture_teardown(&f);
}

Test(vcpu, set_trap_bad_kind_is_invalid_args) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_guest_set_trap(f.guest, 3, A, PAGE, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, 3, A, PAGE, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, UINT32_MAX, A, PAGE, NO_PORT, 0),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// MEM and BELL: page-aligned addr and len.
Test(vcpu, set_trap_unaligned_mem_or_bell_is_invalid_args) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A + 8, PAGE, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A, PAGE / 2, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A, PAGE + 1, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A + 8, PAGE, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, 1, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// MEM and BELL beyond the guest aspace: INVALID_ARGS (from the unmap, spec §1.2 step 6).
Test(vcpu, set_trap_above_the_aspace_is_invalid_args) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    const uint64_t top = GUEST_ASPACE_SIZE;
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, top, PAGE, NO_PORT, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, top, PAGE, port, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, top - PAGE, 2 * PAGE, NO_PORT, 0),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, 1ull << 60, PAGE, NO_PORT, 0),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_OK(zx_guest_set_trap(f.guest, MEM, top - PAGE, PAGE, NO_PORT, 0));
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// Only an exact start address in the same tree (MEM and BELL share one, IO has its own) is
// ALREADY_EXISTS; overlaps with another start are accepted at the reference commit.
Test(vcpu, set_trap_duplicate_start_is_already_exists) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    ASSERT_OK(zx_guest_set_trap(f.guest, MEM, A, PAGE, NO_PORT, 1));
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A, PAGE, NO_PORT, 2), ZX_ERR_ALREADY_EXISTS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, A, 4 * PAGE, NO_PORT, 2),
                  ZX_ERR_ALREADY_EXISTS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, BELL, A, PAGE, port, 2), ZX_ERR_ALREADY_EXISTS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, MEM, EXIT_TEST_ADDR, PAGE, NO_PORT, 2),
                  ZX_ERR_ALREADY_EXISTS);  // the fixture's
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x40, 2, NO_PORT, 1));
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x40, 2, NO_PORT, 2), ZX_ERR_ALREADY_EXISTS);
    ASSERT_STATUS(zx_guest_set_trap(f.guest, IO, 0x40, 1, NO_PORT, 2), ZX_ERR_ALREADY_EXISTS);
    // IO and MEM are separate: the same number is fine.
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x3000, 1, NO_PORT, 1));
    ASSERT_OK(zx_guest_set_trap(f.guest, MEM, 0x3000, PAGE, NO_PORT, 1));
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

Test(vcpu, set_trap_overlap_with_another_start_is_ok) {
    fixture_t f;
    fixture_make_guest(&f);
    zx_handle_t port = make_port();
    ASSERT_OK(zx_guest_set_trap(f.guest, MEM, A, 4 * PAGE, NO_PORT, 1));
    ASSERT_OK(zx_guest_set_trap(f.guest, MEM, A + PAGE, PAGE, NO_PORT, 2));
    ASSERT_OK(zx_guest_set_trap(f.guest, BELL, A + 2 * PAGE, 4 * PAGE, port, 3));
    ASSERT_OK(zx_guest_set_trap(f.guest, MEM, A - PAGE, 2 * PAGE, NO_PORT, 4));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x50, 4, NO_PORT, 1));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x51, 1, NO_PORT, 2));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, 0x4f, 8, NO_PORT, 3));
    ASSERT_OK(zx_handle_close(port));
    fixture_teardown(&f);
}

// --- Two VCPUs on two threads (spec §3.4, §3.6) -------------------------------------------------

struct runner {
    fixture_t* f;
    int index;              // 0: the first VCPU (64-bit), 1: the second (real mode)
    zx_vaddr_t entry;
    uint16_t port;
    pthread_mutex_t* lock;
    pthread_cond_t* cond;
    int* created;           // VCPUs made so far: each thread waits for its turn
    pthread_barrier_t* start;
    // Results, checked on the main thread.
    zx_status_t create_status;
    char error[256];
    int n;                  // packets seen
    uint8_t sizes[COUNT + 4];
    uint32_t values[COUNT + 4];
};

static void* runner_main(void* arg) {
    struct runner* r = arg;
    zx_handle_t vcpu = ZX_HANDLE_INVALID;
    pthread_mutex_lock(r->lock);
    while (*r->created != r->index) pthread_cond_wait(r->cond, r->lock);
    r->create_status = zx_vcpu_create(r->f->guest, 0, r->entry, &vcpu);
    (*r->created)++;
    pthread_cond_broadcast(r->cond);
    pthread_mutex_unlock(r->lock);
    pthread_barrier_wait(r->start);
    if (r->create_status != ZX_OK) return NULL;

    for (;;) {
        zx_port_packet_t p;
        memset(&p, 0, sizeof(p));
        zx_status_t status = zx_vcpu_resume(vcpu, &p);
        if (status != ZX_OK) {
            snprintf(r->error, sizeof(r->error), "resume %d: %s", r->n + 1,
                     zx_status_get_string(status));
            break;
        }
        if (p.type != ZX_PKT_TYPE_GUEST_IO || p.key != r->port || p.guest_io.port != r->port ||
            p.guest_io.input) {
            snprintf(r->error, sizeof(r->error), "resume %d: %s", r->n + 1, describe_packet(&p));
            break;
        }
        if (r->n == COUNT + 4) {
            snprintf(r->error, sizeof(r->error), "too many packets");
            break;
        }
        r->sizes[r->n] = p.guest_io.access_size;
        r->values[r->n] = p.guest_io.access_size == 1   ? p.guest_io.u8
                          : p.guest_io.access_size == 2 ? p.guest_io.u16
                                                        : p.guest_io.u32;
        r->n++;
        if (p.guest_io.access_size == 1 && p.guest_io.u8 == 0xff) break;  // its last OUT
    }
    zx_handle_close(vcpu);
    return NULL;
}

// Checks that |r| saw |prefix| (size 2 each, the second VCPU only), then 1..COUNT of |size|
// bytes, then the final 0xff byte.
static void check_runner(const struct runner* r, const uint32_t* prefix, int nprefix,
                         uint8_t size) {
    cr_assert_eq(r->create_status, ZX_OK, "VCPU %d: zx_vcpu_create: %s", r->index,
                 zx_status_get_string(r->create_status));
    cr_assert_eq(r->error[0], '\0', "VCPU %d: %s", r->index, r->error);
    cr_assert_eq(r->n, nprefix + COUNT + 1, "VCPU %d: %d packets", r->index, r->n);
    for (int i = 0; i < nprefix; i++) {
        cr_expect_eq(r->sizes[i], 2, "VCPU %d packet %d: size %u", r->index, i, r->sizes[i]);
        cr_expect_eq(r->values[i], prefix[i], "VCPU %d packet %d: %#x, want %#x", r->index, i,
                     r->values[i], prefix[i]);
    }
    for (int i = 0; i < COUNT; i++) {
        int k = nprefix + i;
        cr_expect_eq(r->sizes[k], size, "VCPU %d packet %d: size %u", r->index, k, r->sizes[k]);
        cr_expect_eq(r->values[k], (uint32_t)(i + 1), "VCPU %d packet %d: %#x", r->index, k,
                     r->values[k]);
    }
    int last = nprefix + COUNT;
    cr_expect(r->sizes[last] == 1 && r->values[last] == 0xff, "VCPU %d: last packet %u bytes %#x",
              r->index, r->sizes[last], r->values[last]);
}

Test(vcpu, two_vcpus_on_two_threads) {
    fixture_t f;
    fixture_make_guest(&f);
    fixture_load(&f, GUEST_ENTRY, ROUTINE(bsp_counter));
    fixture_load(&f, AP_ENTRY, ROUTINE(ap_counter));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, PORT_A, 1, NO_PORT, PORT_A));
    ASSERT_OK(zx_guest_set_trap(f.guest, IO, PORT_B, 1, NO_PORT, PORT_B));

    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    int created = 0;
    struct runner r[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        r[i] = (struct runner){.f = &f, .index = i, .entry = i == 0 ? GUEST_ENTRY : AP_ENTRY,
                               .port = i == 0 ? PORT_A : PORT_B, .lock = &lock, .cond = &cond,
                               .created = &created, .start = &start,
                               .create_status = ZX_ERR_INTERNAL};
    }
    // Start the second thread first: the creation order must still be first, second.
    for (int i = 1; i >= 0; i--) cr_assert_eq(pthread_create(&t[i], NULL, runner_main, &r[i]), 0);
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);

    if (r[0].create_status == ZX_ERR_NOT_SUPPORTED) {
        fixture_teardown(&f);
        cr_skip_test("zx_vcpu_create: ZX_ERR_NOT_SUPPORTED (no usable VCPU on this host)");
    }
    check_runner(&r[0], NULL, 0, 4);
    // The second VCPU starts in real mode with CS = entry >> 4 and CS.base = entry: it reads the
    // word 0xc0de through CS at its own offset.
    const uint32_t prefix[2] = {AP_ENTRY >> 4, 0xc0de};
    check_runner(&r[1], prefix, 2, 2);
    fixture_teardown(&f);
}
