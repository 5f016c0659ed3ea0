// Many guests with two VCPUs each (spec §1.3, §3.4, §3.6): every VCPU runs on its own thread (the
// first in 64-bit mode, the second in real mode at CS.base = entry), and once all are closed the
// process has the descriptors, threads, mappings and handles it had before.
#include <dirent.h>
#include <pthread.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>

#include "kvm_helpers.h"

#define GUEST_RAM (4ull << 20)
#define BSP_ENTRY 0x10000ull
#define AP_ENTRY 0x20000ull

static const uint8_t kBspCode[] = {0xe6, 0x11, 0xeb, 0xfe};  // out %al,$0x11; jmp .
static const uint8_t kApCode[] = {0xe6, 0x12, 0xeb, 0xfe};   // out %al,$0x12; jmp . (16-bit)

struct vcpu_run {
    zx_handle_t guest;
    uint64_t entry;
    zx_status_t create, resume;
    zx_port_packet_t packet;
};

// A VCPU lives on the thread that made it: create, run to its first packet, close, all here.
static void* run_vcpu(void* arg) {
    struct vcpu_run* r = arg;
    zx_handle_t vcpu;
    r->create = zx_vcpu_create(r->guest, 0, r->entry, &vcpu);
    if (r->create != ZX_OK) return NULL;
    r->resume = zx_vcpu_resume(vcpu, &r->packet);
    zx_handle_close(vcpu);
    return NULL;
}

static size_t count_entries(const char* dir) {
    DIR* d = opendir(dir);
    size_t n = 0;
    if (d == NULL) return 0;
    for (struct dirent* e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

// The library's own mappings: views of VMOs (memfd "zxhv-vmo") and VCPUs' kvm_run areas. Other
// lines of /proc/self/maps move by themselves (glibc keeps exited threads' stacks for reuse, and
// the sanitizers map memory on demand).
static size_t count_maps(void) {
    FILE* f = fopen("/proc/self/maps", "r");
    size_t n = 0;
    if (f == NULL) return 0;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, "zxhv-vmo") != NULL || strstr(line, "kvm-vcpu") != NULL;
    }
    fclose(f);
    return n;
}

static void one_guest(void) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    zx_handle_t vmo = new_vmo(GUEST_RAM);
    write_identity_map(vmo);
    ASSERT_OK(zx_vmo_write(vmo, kBspCode, BSP_ENTRY, sizeof(kBspCode)));
    ASSERT_OK(zx_vmo_write(vmo, kApCode, AP_ENTRY, sizeof(kApCode)));
    zx_vaddr_t addr;
    ASSERT_OK(zx_vmar_map(vmar, GUEST_MAP_FLAGS, 0, vmo, 0, GUEST_RAM, &addr));
    ASSERT_OK(zx_guest_set_trap(guest, ZX_GUEST_TRAP_IO, 0x11, 2, ZX_HANDLE_INVALID, 7));

    // The first VCPU is created before the second starts, so it is the BSP.
    struct vcpu_run runs[2] = {{.guest = guest, .entry = BSP_ENTRY}, {.guest = guest, .entry = AP_ENTRY}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pthread_create(&threads[i], NULL, run_vcpu, &runs[i]), 0);
        if (i == 0) cr_assert_eq(pthread_join(threads[0], NULL), 0);
    }
    cr_assert_eq(pthread_join(threads[1], NULL), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(runs[i].create);
        ASSERT_OK(runs[i].resume);
        cr_assert_eq(runs[i].packet.type, ZX_PKT_TYPE_GUEST_IO);
        cr_assert_eq(runs[i].packet.guest_io.port, 0x11 + i, "VCPU %d exited through port %#x", i,
                     runs[i].packet.guest_io.port);
    }
    ASSERT_OK(zx_handle_close(vmo));
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

Test(multi_guest, hundred_guests_with_two_vcpus_leave_nothing_behind, .timeout = 1800) {
    one_guest();  // warm-up: the library keeps /dev/kvm open and sets up its kick signal once
    struct process_census before = census();
    cr_assert_eq(count_maps(), 0, "the warm-up guest left library mappings behind");
    size_t threads = count_entries("/proc/self/task");
    size_t maps = count_maps();
    for (int i = 0; i < 100; i++) one_guest();
    assert_census_unchanged(before, "100 guests with 2 VCPUs");
    cr_assert_eq(count_entries("/proc/self/task"), threads, "threads left behind");
    cr_assert_eq(count_maps(), maps, "mappings left behind");
}
