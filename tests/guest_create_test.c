// zxhv tests: zx_guest_create (spec §1.1).
//
// The checks run in Zircon's order (spec §1.1 "Code" and conflict rule 1): options (INVALID_ARGS,
// before the handle is looked at), then the resource handle (BAD_HANDLE, WRONG_TYPE, a resource
// of another kind than HYPERVISOR or ROOT -> ACCESS_DENIED; no rights needed), then the output
// pointers (INVALID_ARGS), and only then KVM. So every error up to the pointers is tested without
// KVM too; the tests that need a guest skip without one ("no usable /dev/kvm: ...").
#include "kvm_helpers.h"  // first: it defines _GNU_SOURCE

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

// An output variable's content before the call, so a test sees whether the call wrote to it.
#define UNTOUCHED ((zx_handle_t)0xdeadbeefu)

// A pointer into the never-mapped first page.
#define UNMAPPED_OUT ((zx_handle_t*)8)

// Asserts that zx_guest_create(|rsrc|, |options|, ...) gives |want| and leaves the process as it
// was: no descriptor, no handle, nothing written to the output variables.
static void assert_create_fails(zx_handle_t rsrc, uint32_t options, zx_status_t want) {
    struct process_census before = census();
    zx_handle_t guest = UNTOUCHED, vmar = UNTOUCHED;
    ASSERT_STATUS(zx_guest_create(rsrc, options, &guest, &vmar), want);
    cr_assert_eq(guest, UNTOUCHED, "guest_handle written on failure: %#x", guest);
    cr_assert_eq(vmar, UNTOUCHED, "vmar_handle written on failure: %#x", vmar);
    assert_census_unchanged(before, "failed zx_guest_create");
}

// --- options --------------------------------------------------------------------------------

Test(guest_create, nonzero_options_are_invalid_args) {
    zx_handle_t rsrc = hypervisor_resource();
    const uint32_t options[] = {1u, 2u, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        assert_create_fails(rsrc, options[i], ZX_ERR_INVALID_ARGS);
    }
    ASSERT_OK(zx_handle_close(rsrc));
}

// Options come before the resource handle (spec §1.1 step 1): a bad handle does not change it.
Test(guest_create, nonzero_options_checked_before_the_handle) {
    assert_create_fails(ZX_HANDLE_INVALID, 1u, ZX_ERR_INVALID_ARGS);
    zx_handle_t vmo = new_vmo(KVM_PAGE);
    assert_create_fails(vmo, 1u, ZX_ERR_INVALID_ARGS);
    ASSERT_OK(zx_handle_close(vmo));
    zx_handle_t vmex = resource_of_kind(ZX_RSRC_KIND_VMEX, 0, 0);
    assert_create_fails(vmex, 1u, ZX_ERR_INVALID_ARGS);
    ASSERT_OK(zx_handle_close(vmex));
    ASSERT_STATUS(zx_guest_create(ZX_HANDLE_INVALID, 1u, NULL, NULL), ZX_ERR_INVALID_ARGS);
}

// --- the resource handle ----------------------------------------------------------------------

Test(guest_create, invalid_handle_is_bad_handle) {
    assert_create_fails(ZX_HANDLE_INVALID, 0, ZX_ERR_BAD_HANDLE);
}

Test(guest_create, closed_handle_is_bad_handle) {
    zx_handle_t rsrc = hypervisor_resource();
    ASSERT_OK(zx_handle_close(rsrc));
    assert_create_fails(rsrc, 0, ZX_ERR_BAD_HANDLE);
}

// Values that were never handed out: no fixed bits, and an index far beyond any table.
Test(guest_create, never_issued_values_are_bad_handle) {
    const zx_handle_t values[] = {1u, 2u, 0x7ffffffbu, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_create_fails(values[i], 0, ZX_ERR_BAD_HANDLE);
    }
}

// The handle is checked before the output pointers.
Test(guest_create, bad_handle_checked_before_out_pointers) {
    struct process_census before = census();
    ASSERT_STATUS(zx_guest_create(ZX_HANDLE_INVALID, 0, NULL, NULL), ZX_ERR_BAD_HANDLE);
    assert_census_unchanged(before, "zx_guest_create");
}

Test(guest_create, vmo_handle_is_wrong_type) {
    zx_handle_t vmo = new_vmo(KVM_PAGE);
    assert_create_fails(vmo, 0, ZX_ERR_WRONG_TYPE);
    // No rights are asked of the handle, so a handle without any is still only the wrong type.
    zx_handle_t bare = dup_rights(vmo, 0);
    assert_create_fails(bare, 0, ZX_ERR_WRONG_TYPE);
    ASSERT_OK(zx_handle_close(bare));
    ASSERT_OK(zx_handle_close(vmo));
}

Test(guest_create, port_handle_is_wrong_type) {
    zx_handle_t port = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_port_create(0, &port));
    assert_create_fails(port, 0, ZX_ERR_WRONG_TYPE);
    ASSERT_OK(zx_handle_close(port));
}

Test(guest_create, vmar_handle_is_wrong_type) {
    assert_create_fails(zx_vmar_root_self(), 0, ZX_ERR_WRONG_TYPE);
}

// A resource of a kind other than HYPERVISOR or ROOT: ACCESS_DENIED, as guest_create.md says
// (spec §1.1 and its conflict rule 1; the 2018 code said WRONG_TYPE).
Test(guest_create, mmio_resource_is_access_denied) {
    zx_handle_t rsrc = resource_of_kind(ZX_RSRC_KIND_MMIO, 0x10000, 0x1000);
    assert_create_fails(rsrc, 0, ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(rsrc));
}

Test(guest_create, irq_resource_is_access_denied) {
    zx_handle_t rsrc = resource_of_kind(ZX_RSRC_KIND_IRQ, 32, 1);
    assert_create_fails(rsrc, 0, ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(rsrc));
}

Test(guest_create, ioport_resource_is_access_denied) {
    zx_handle_t rsrc = resource_of_kind(ZX_RSRC_KIND_IOPORT, 0x10, 1);
    assert_create_fails(rsrc, 0, ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(rsrc));
}

Test(guest_create, vmex_resource_is_access_denied) {
    zx_handle_t rsrc = resource_of_kind(ZX_RSRC_KIND_VMEX, 0, 0);
    assert_create_fails(rsrc, 0, ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(rsrc));
}

// The kind is what counts, not the handle's rights: a MMIO resource with every right it can have,
// or with none, is refused alike.
Test(guest_create, resource_kind_is_checked_whatever_the_rights) {
    zx_handle_t rsrc = resource_of_kind(ZX_RSRC_KIND_MMIO, 0x20000, 0x1000);
    zx_handle_t bare = dup_rights(rsrc, 0);
    assert_create_fails(bare, 0, ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_handle_close(bare));
    ASSERT_OK(zx_handle_close(rsrc));
}

// The resource is checked before the output pointers.
Test(guest_create, resource_kind_checked_before_out_pointers) {
    zx_handle_t rsrc = resource_of_kind(ZX_RSRC_KIND_VMEX, 0, 0);
    struct process_census before = census();
    ASSERT_STATUS(zx_guest_create(rsrc, 0, NULL, NULL), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_guest_create(rsrc, 0, UNMAPPED_OUT, UNMAPPED_OUT), ZX_ERR_ACCESS_DENIED);
    assert_census_unchanged(before, "zx_guest_create");
    ASSERT_OK(zx_handle_close(rsrc));
}

// --- output pointers (checked before KVM is opened, so these need no KVM) ----------------------

enum out_kind { OUT_GOOD, OUT_NULL, OUT_UNMAPPED, OUT_READONLY, OUT_STRADDLING };

static const char* const out_kind_names[] = {"a good pointer", "NULL", "(zx_handle_t*)8",
                                             "a read-only page", "a half read-only handle"};

// An output pointer of |kind|; |good| is the variable a good pointer names.
static zx_handle_t* out_pointer(enum out_kind kind, zx_handle_t* good) {
    switch (kind) {
        case OUT_GOOD:
            *good = UNTOUCHED;
            return good;
        case OUT_NULL:
            return NULL;
        case OUT_UNMAPPED:
            return UNMAPPED_OUT;
        case OUT_READONLY:
            return pages_with(1, PROT_READ);
        case OUT_STRADDLING: {
            // Its first two bytes can be written, its last two are on a read-only page.
            uint8_t* p = pages_with(2, PROT_READ | PROT_WRITE);
            cr_assert_eq(mprotect(p + KVM_PAGE, KVM_PAGE, PROT_READ), 0, "mprotect: %s",
                         strerror(errno));
            return (zx_handle_t*)(void*)(p + KVM_PAGE - 2);
        }
    }
    cr_assert_fail("unknown out_kind %d", (int)kind);
    return NULL;
}

// zx_guest_create(|rsrc|) with output pointers of the given kinds gives INVALID_ARGS and leaves
// nothing behind: no descriptor (not even /dev/kvm's: the pointers are checked before KVM is
// opened, so this holds without KVM too), no live handle, and a good output variable untouched
// (or, were anything written there, naming no valid handle).
static void assert_bad_out_pointers(zx_handle_t rsrc, enum out_kind guest_kind,
                                    enum out_kind vmar_kind) {
    zx_handle_t guest_var, vmar_var;
    zx_handle_t* guest_out = out_pointer(guest_kind, &guest_var);
    zx_handle_t* vmar_out = out_pointer(vmar_kind, &vmar_var);
    struct process_census before = census();
    zx_status_t status = zx_guest_create(rsrc, 0, guest_out, vmar_out);
    cr_assert_eq(status, ZX_ERR_INVALID_ARGS,
                 "zx_guest_create(guest_handle = %s, vmar_handle = %s)\n  got  %s (%d)\n"
                 "  want ZX_ERR_INVALID_ARGS",
                 out_kind_names[guest_kind], out_kind_names[vmar_kind],
                 zx_status_get_string(status), status);
    assert_census_unchanged(before, "zx_guest_create with a bad output pointer");
    zx_handle_t goods[2] = {guest_kind == OUT_GOOD ? guest_var : UNTOUCHED,
                            vmar_kind == OUT_GOOD ? vmar_var : UNTOUCHED};
    for (int i = 0; i < 2; i++) {
        cr_assert(goods[i] == UNTOUCHED || !handle_valid(goods[i]),
                  "a handle (%#x) was left behind through the good pointer", goods[i]);
    }
}

// Each case with both kinds of resource zx_guest_create accepts.
static void assert_bad_out_pointers_any_resource(enum out_kind guest_kind,
                                                 enum out_kind vmar_kind) {
    zx_handle_t hyp = hypervisor_resource();
    zx_handle_t root = resource_of_kind(ZX_RSRC_KIND_ROOT, 0, 0);
    assert_bad_out_pointers(hyp, guest_kind, vmar_kind);
    assert_bad_out_pointers(root, guest_kind, vmar_kind);
    ASSERT_OK(zx_handle_close(root));
    ASSERT_OK(zx_handle_close(hyp));
}

Test(guest_create, null_guest_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_NULL, OUT_GOOD);
}

Test(guest_create, null_vmar_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_GOOD, OUT_NULL);
}

Test(guest_create, unmapped_guest_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_UNMAPPED, OUT_GOOD);
}

Test(guest_create, unmapped_vmar_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_GOOD, OUT_UNMAPPED);
}

Test(guest_create, readonly_guest_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_READONLY, OUT_GOOD);
}

Test(guest_create, readonly_vmar_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_GOOD, OUT_READONLY);
}

Test(guest_create, partly_readonly_guest_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_STRADDLING, OUT_GOOD);
}

Test(guest_create, partly_readonly_vmar_handle_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_GOOD, OUT_STRADDLING);
}

Test(guest_create, both_out_pointers_bad_is_invalid_args) {
    assert_bad_out_pointers_any_resource(OUT_NULL, OUT_NULL);
    assert_bad_out_pointers_any_resource(OUT_UNMAPPED, OUT_READONLY);
    assert_bad_out_pointers_any_resource(OUT_READONLY, OUT_UNMAPPED);
}

// --- the KVM device (ZXHV_KVM_DEVICE, read once per process when KVM is first opened) ----------

// Points the library at |path| for this process. Criterion runs each test in a process of its
// own, so nothing has opened KVM yet; should that ever not hold, the test cannot say anything.
static void use_kvm_device(const char* path) {
    if (kvm_device_open_in_process()) {
        cr_skip_test("/dev/kvm is already open in this process (tests must not share one)");
    }
    cr_assert_eq(setenv("ZXHV_KVM_DEVICE", path, 1), 0, "setenv: %s", strerror(errno));
}

// A device that is not KVM: zx_guest_create gives NOT_SUPPORTED, leaves nothing behind, and says
// the same when asked again (the failure is not mistaken for a KVM later).
static void assert_device_not_supported(const char* path) {
    use_kvm_device(path);
    zx_handle_t rsrc = hypervisor_resource();
    assert_create_fails(rsrc, 0, ZX_ERR_NOT_SUPPORTED);
    assert_create_fails(rsrc, 0, ZX_ERR_NOT_SUPPORTED);
    ASSERT_OK(zx_handle_close(rsrc));
}

Test(guest_create, missing_kvm_device_is_not_supported) {
    assert_device_not_supported("/nonexistent/zxhv-test/kvm");
}

Test(guest_create, dev_null_as_kvm_device_is_not_supported) {
    assert_device_not_supported("/dev/null");
}

Test(guest_create, directory_as_kvm_device_is_not_supported) {
    assert_device_not_supported("/");
}

// A scratch directory that any user may enter, holding one file "kvm" with |mode|.
struct scratch {
    char dir[256];
    char file[300];
};

static void make_scratch(struct scratch* s, mode_t mode) {
    const char* tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
    snprintf(s->dir, sizeof(s->dir), "%s/zxhv-guest-create-XXXXXX", tmp);
    cr_assert_not_null(mkdtemp(s->dir), "mkdtemp(%s): %s", s->dir, strerror(errno));
    cr_assert_eq(chmod(s->dir, 0755), 0, "chmod: %s", strerror(errno));
    snprintf(s->file, sizeof(s->file), "%s/kvm", s->dir);
    int fd = open(s->file, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0, "open(%s): %s", s->file, strerror(errno));
    cr_assert_eq(write(fd, "not kvm\n", 8), 8);
    cr_assert_eq(fchmod(fd, mode), 0, "fchmod: %s", strerror(errno));
    close(fd);
}

static void remove_scratch(const struct scratch* s) {
    unlink(s->file);
    rmdir(s->dir);
}

// The status zx_guest_create(|rsrc|) gives to a process without privileges, so that file modes
// apply: this process itself if it has none, else a child that becomes user and group 65534
// ("nobody") first and reports the status in its exit code. Skips if that is not possible.
static zx_status_t guest_create_unprivileged(zx_handle_t rsrc) {
    if (geteuid() != 0) {
        zx_handle_t guest = UNTOUCHED, vmar = UNTOUCHED;
        zx_status_t status = zx_guest_create(rsrc, 0, &guest, &vmar);
        if (status == ZX_OK) {
            zx_handle_close(vmar);
            zx_handle_close(guest);
        }
        return status;
    }
    enum { CANNOT_DROP = 255 };
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0) {
            _exit(CANNOT_DROP);
        }
        zx_handle_t guest = UNTOUCHED, vmar = UNTOUCHED;
        zx_status_t status = zx_guest_create(rsrc, 0, &guest, &vmar);
        // 0 for ZX_OK, else the (small, negative) status negated; _exit skips every exit hook.
        _exit(status > 0 ? 254 : -status);
    }
    int wstatus;
    pid_t waited;
    do {
        waited = waitpid(pid, &wstatus, 0);
    } while (waited < 0 && errno == EINTR);
    cr_assert_eq(waited, pid, "waitpid: %s", strerror(errno));
    cr_assert(WIFEXITED(wstatus), "the unprivileged child did not exit (status %#x)", wstatus);
    int code = WEXITSTATUS(wstatus);
    if (code == CANNOT_DROP) {
        cr_skip_test("cannot become an unprivileged user (65534) to make file modes apply");
    }
    cr_assert_neq(code, 254, "zx_guest_create returned a positive status");
    return -code;
}

// A device the caller may not open: ZX_ERR_ACCESS_DENIED (arch/x86/kvm.h, object/guest.h), the
// library's documented answer when /dev/kvm exists but is not for this user. A readable file in
// the same place, opened by the same user, gives NOT_SUPPORTED: the mode is what is refused.
Test(guest_create, kvm_device_without_permission_is_access_denied) {
    struct scratch closed, open_file;
    make_scratch(&closed, 0);
    make_scratch(&open_file, 0666);
    zx_handle_t rsrc = hypervisor_resource();

    use_kvm_device(open_file.file);
    zx_status_t readable = guest_create_unprivileged(rsrc);
    use_kvm_device(closed.file);
    zx_status_t unreadable = guest_create_unprivileged(rsrc);

    ASSERT_OK(zx_handle_close(rsrc));
    remove_scratch(&open_file);
    remove_scratch(&closed);
    cr_assert_eq(readable, ZX_ERR_NOT_SUPPORTED,
                 "a readable regular file as the KVM device: got %s (%d), want "
                 "ZX_ERR_NOT_SUPPORTED", zx_status_get_string(readable), readable);
    cr_assert_eq(unreadable, ZX_ERR_ACCESS_DENIED,
                 "a KVM device with mode 000: got %s (%d), want ZX_ERR_ACCESS_DENIED",
                 zx_status_get_string(unreadable), unreadable);
}

Test(guest_create, regular_file_as_kvm_device_is_not_supported) {
    struct scratch s;
    make_scratch(&s, 0666);
    use_kvm_device(s.file);
    zx_handle_t rsrc = hypervisor_resource();
    zx_handle_t guest = UNTOUCHED, vmar = UNTOUCHED;
    struct process_census before = census();
    zx_status_t status = zx_guest_create(rsrc, 0, &guest, &vmar);
    struct process_census after = census();
    ASSERT_OK(zx_handle_close(rsrc));
    remove_scratch(&s);
    cr_assert_eq(status, ZX_ERR_NOT_SUPPORTED, "got %s (%d), want ZX_ERR_NOT_SUPPORTED",
                 zx_status_get_string(status), status);
    cr_assert_eq(guest, UNTOUCHED);
    cr_assert_eq(vmar, UNTOUCHED);
    cr_assert_eq(after.fds, before.fds, "descriptors went from %d to %d", before.fds, after.fds);
    cr_assert_eq(after.handles, before.handles);
}

// --- with KVM: the resources accepted -------------------------------------------------------

// A created guest: two valid, distinct handle values of the fixed shape (bits 0 and 1 set, bit
// 31 clear).
static void assert_created(zx_handle_t guest, zx_handle_t vmar) {
    cr_assert(handle_valid(guest), "guest handle %#x is not valid", guest);
    cr_assert(handle_valid(vmar), "vmar handle %#x is not valid", vmar);
    cr_assert_neq(guest, vmar);
    const zx_handle_t values[2] = {guest, vmar};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(values[i] & ZX_HANDLE_FIXED_BITS_MASK, ZX_HANDLE_FIXED_BITS_MASK,
                     "handle %#x lacks the fixed bits", values[i]);
        cr_assert_eq(values[i] & 0x80000000u, 0u, "handle %#x has bit 31 set", values[i]);
    }
}

Test(guest_create, hypervisor_resource_is_accepted) {
    zx_handle_t rsrc = hypervisor_resource();
    zx_handle_t guest, vmar;
    guest_or_skip_with(rsrc, &guest, &vmar);
    assert_created(guest, vmar);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
    ASSERT_OK(zx_handle_close(rsrc));
}

Test(guest_create, root_resource_is_accepted) {
    skip_without_kvm();
    zx_handle_t root = ZX_HANDLE_INVALID;
    ASSERT_OK(zxhv_root_resource_get(&root));
    zx_handle_t guest = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_guest_create(root, 0, &guest, &vmar));
    assert_created(guest, vmar);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
    // A ROOT resource made with zx_resource_create is a full ROOT resource too.
    zx_handle_t made = resource_of_kind(ZX_RSRC_KIND_ROOT, 0, 0);
    ASSERT_OK(zx_guest_create(made, 0, &guest, &vmar));
    assert_created(guest, vmar);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
    ASSERT_OK(zx_handle_close(made));
    ASSERT_OK(zx_handle_close(root));
}

// No rights are needed on the resource handle (spec §1.1 step 2: validate_resource looks the
// handle up without rights).
Test(guest_create, resource_needs_no_rights) {
    skip_without_kvm();
    const uint32_t kinds[] = {ZX_RSRC_KIND_HYPERVISOR, ZX_RSRC_KIND_ROOT};
    const zx_rights_t rights[] = {0, ZX_RIGHT_TRANSFER, ZX_RIGHT_INSPECT};
    for (size_t k = 0; k < 2; k++) {
        zx_handle_t rsrc = resource_of_kind(kinds[k], 0, 0);
        for (size_t r = 0; r < sizeof(rights) / sizeof(rights[0]); r++) {
            zx_handle_t reduced = dup_rights(rsrc, rights[r]);
            zx_handle_t guest = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID;
            zx_status_t status = zx_guest_create(reduced, 0, &guest, &vmar);
            cr_assert_eq(status, ZX_OK, "resource kind %u with rights %#x: got %s (%d)",
                         kinds[k], rights[r], zx_status_get_string(status), status);
            assert_created(guest, vmar);
            ASSERT_OK(zx_handle_close(vmar));
            ASSERT_OK(zx_handle_close(guest));
            ASSERT_OK(zx_handle_close(reduced));
        }
        ASSERT_OK(zx_handle_close(rsrc));
    }
}

// Neither handle a guest gives is a resource.
Test(guest_create, guest_and_vmar_handles_are_wrong_type) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    assert_create_fails(guest, 0, ZX_ERR_WRONG_TYPE);
    assert_create_fails(vmar, 0, ZX_ERR_WRONG_TYPE);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

// --- with KVM: what the two handles are ------------------------------------------------------

// spec §1.1: ZX_DEFAULT_GUEST_RIGHTS = TRANSFER | DUPLICATE | WRITE | MANAGE_PROCESS; a guest has
// no state tracker (props NONE) and no related object.
Test(guest_create, guest_handle_info) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    zx_info_handle_basic_t info = basic_info(guest);
    cr_assert_eq(info.rights, GUEST_RIGHTS, "rights %#x, want %#x", info.rights, GUEST_RIGHTS);
    cr_assert_eq(info.rights, ZX_DEFAULT_GUEST_RIGHTS);
    cr_assert_eq(info.type, 20u, "type %u, want 20 (ZX_OBJ_TYPE_GUEST)", info.type);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_GUEST);
    cr_assert_eq(info.props, ZX_OBJ_PROP_NONE, "props %u, want NONE", info.props);
    cr_assert_eq(info.related_koid, ZX_KOID_INVALID);
    cr_assert_neq(info.koid, ZX_KOID_INVALID);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

// spec §1.1: the guest VMAR is a root VMAR: VMAR defaults plus READ, WRITE, EXECUTE = 0x801f.
Test(guest_create, vmar_handle_info) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    zx_info_handle_basic_t info = basic_info(vmar);
    cr_assert_eq(info.rights, GUEST_VMAR_RIGHTS, "rights %#x, want %#x", info.rights,
                 GUEST_VMAR_RIGHTS);
    cr_assert_eq(info.type, 18u, "type %u, want 18 (ZX_OBJ_TYPE_VMAR)", info.type);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMAR);
    cr_assert_eq(info.props, ZX_OBJ_PROP_NONE, "props %u, want NONE", info.props);
    cr_assert_eq(info.related_koid, ZX_KOID_INVALID);
    cr_assert_neq(info.koid, ZX_KOID_INVALID);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

// Every guest and every guest VMAR is an object of its own.
Test(guest_create, koids_are_distinct) {
    zx_handle_t rsrc = hypervisor_resource();
    zx_handle_t g1, v1, g2, v2;
    guest_or_skip_with(rsrc, &g1, &v1);
    guest_or_skip_with(rsrc, &g2, &v2);
    const zx_koid_t koids[5] = {basic_info(g1).koid, basic_info(v1).koid, basic_info(g2).koid,
                                basic_info(v2).koid, basic_info(rsrc).koid};
    for (int i = 0; i < 5; i++) {
        for (int j = i + 1; j < 5; j++) {
            cr_assert_neq(koids[i], koids[j], "koid %lu appears twice (%d and %d)",
                          (unsigned long)koids[i], i, j);
        }
    }
    // A duplicate names the same object.
    zx_handle_t dup = dup_rights(g1, ZX_RIGHT_SAME_RIGHTS);
    cr_assert_eq(basic_info(dup).koid, koids[0]);
    zx_handle_t handles[] = {dup, v2, g2, v1, g1, rsrc};
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        ASSERT_OK(zx_handle_close(handles[i]));
    }
}

// A guest handle can be duplicated and replaced with its rights or fewer, never more (spec §1.9
// zx_handle_duplicate; docs/notes/ref-supporting-syscalls.md §1).
Test(guest_create, guest_handle_duplicates_only_within_its_rights) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);

    zx_handle_t same = dup_rights(guest, ZX_RIGHT_SAME_RIGHTS);
    cr_assert_eq(basic_info(same).rights, GUEST_RIGHTS);
    zx_handle_t fewer = dup_rights(guest, ZX_RIGHT_WRITE | ZX_RIGHT_TRANSFER);
    cr_assert_eq(basic_info(fewer).rights, ZX_RIGHT_WRITE | ZX_RIGHT_TRANSFER);
    zx_handle_t none = dup_rights(guest, 0);
    cr_assert_eq(basic_info(none).rights, 0u);
    cr_assert_eq(basic_info(none).type, ZX_OBJ_TYPE_GUEST);

    // More than it has: READ, WAIT, INSPECT, or SAME_RIGHTS together with another bit.
    const zx_rights_t more[] = {GUEST_RIGHTS | ZX_RIGHT_READ, ZX_RIGHT_WAIT, ZX_RIGHT_INSPECT,
                                ZX_RIGHT_SAME_RIGHTS | ZX_RIGHT_WRITE};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        zx_handle_t out = UNTOUCHED;
        size_t live = handle_table_count();
        ASSERT_STATUS(zx_handle_duplicate(guest, more[i], &out), ZX_ERR_INVALID_ARGS);
        cr_assert_eq(out, UNTOUCHED);
        cr_assert_eq(handle_table_count(), live);
    }
    // A handle without DUPLICATE cannot be duplicated at all.
    zx_handle_t out = UNTOUCHED;
    ASSERT_STATUS(zx_handle_duplicate(fewer, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_handle_duplicate(fewer, 0, &out), ZX_ERR_ACCESS_DENIED);
    cr_assert_eq(out, UNTOUCHED);

    // Replacing needs no rights, but cannot add any; the source is gone either way.
    zx_handle_t replaced = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_handle_replace(fewer, ZX_RIGHT_WRITE, &replaced));
    cr_assert(!handle_valid(fewer));
    cr_assert_eq(basic_info(replaced).rights, ZX_RIGHT_WRITE);
    cr_assert_eq(basic_info(replaced).koid, basic_info(guest).koid);
    out = UNTOUCHED;
    ASSERT_STATUS(zx_handle_replace(replaced, ZX_RIGHT_WRITE | ZX_RIGHT_DUPLICATE, &out),
                  ZX_ERR_INVALID_ARGS);
    cr_assert_eq(out, UNTOUCHED);
    cr_assert(!handle_valid(replaced), "a failed replace must still consume its source");
    zx_handle_t to_all = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_handle_replace(same, ZX_RIGHT_SAME_RIGHTS, &to_all));
    cr_assert_eq(basic_info(to_all).rights, GUEST_RIGHTS);

    ASSERT_OK(zx_handle_close(to_all));
    ASSERT_OK(zx_handle_close(none));
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

Test(guest_create, vmar_handle_duplicates_only_within_its_rights) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    zx_handle_t same = dup_rights(vmar, ZX_RIGHT_SAME_RIGHTS);
    cr_assert_eq(basic_info(same).rights, GUEST_VMAR_RIGHTS);
    zx_handle_t read_only = dup_rights(vmar, ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE);
    cr_assert_eq(basic_info(read_only).rights, ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE);
    zx_handle_t out = UNTOUCHED;
    ASSERT_STATUS(zx_handle_duplicate(vmar, GUEST_VMAR_RIGHTS | ZX_RIGHT_MAP, &out),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_handle_duplicate(read_only, ZX_RIGHT_READ | ZX_RIGHT_WRITE, &out),
                  ZX_ERR_INVALID_ARGS);
    cr_assert_eq(out, UNTOUCHED);
    ASSERT_OK(zx_handle_close(read_only));
    ASSERT_OK(zx_handle_close(same));
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

// Closing both handles, in either order, gives back every descriptor the guest used (its VM).
// The library keeps /dev/kvm open once opened, so the count is taken after a first guest.
Test(guest_create, closing_both_handles_releases_the_guest) {
    skip_without_kvm();
    zx_handle_t rsrc = hypervisor_resource();
    struct process_census before = census();
    for (int order = 0; order < 2; order++) {
        zx_handle_t guest = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID;
        ASSERT_OK(zx_guest_create(rsrc, 0, &guest, &vmar));
        cr_assert_eq(handle_table_count(), before.handles + 2);
        ASSERT_OK(zx_handle_close(order == 0 ? guest : vmar));
        ASSERT_OK(zx_handle_close(order == 0 ? vmar : guest));
        assert_census_unchanged(before, order == 0 ? "guest closed, then its VMAR"
                                                   : "VMAR closed, then its guest");
    }
    ASSERT_OK(zx_handle_close(rsrc));
}
