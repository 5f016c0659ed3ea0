// zxhv bench: the zxhv side's guest (zx_guest.h).
#include "zx_guest.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "bench.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static zx_handle_t hypervisor = ZX_HANDLE_INVALID;

static void make_resource(void) {
    zx_handle_t root;
    CHECK_ZX(zxhv_root_resource_get(&root));
    CHECK_ZX(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "bench", 5, &hypervisor));
    CHECK_ZX(zx_handle_close(root));
}

zx_handle_t zx_hypervisor_resource(void) {
    pthread_once(&once, make_resource);
    return hypervisor;
}

void zx_guest_make(struct zx_guest* g, bool host_view) {
    CHECK_ZX(zx_guest_create(zx_hypervisor_resource(), 0, &g->guest, &g->vmar));
    CHECK_ZX(zx_vmo_create(GUEST_RAM_SIZE, 0, &g->vmo));
    CHECK_ZX(zx_vmo_write(g->vmo, guest_tables(), GUEST_TABLES, GUEST_TABLES_SIZE));
    CHECK_ZX(zx_vmo_write(g->vmo, guest_blob_start, GUEST_CODE,
                          (size_t)(guest_blob_end - guest_blob_start)));
    zx_vaddr_t addr;
    CHECK_ZX(zx_vmar_map(g->vmar,
                         ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                         0, g->vmo, 0, GUEST_RAM_SIZE, &addr));
    g->host = NULL;
    if (host_view) {
        CHECK_ZX(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, g->vmo, 0,
                             GUEST_RAM_SIZE, &addr));
        g->host = (uint8_t*)addr;
    }
}

void zx_guest_unmake(struct zx_guest* g) {
    if (g->host != NULL) {
        CHECK_ZX(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)g->host, GUEST_RAM_SIZE));
    }
    CHECK_ZX(zx_handle_close(g->vmo));
    CHECK_ZX(zx_handle_close(g->vmar));
    CHECK_ZX(zx_handle_close(g->guest));
}

void zx_resume_expect(zx_handle_t vcpu, uint8_t type, uint16_t port) {
    zx_port_packet_t packet;
    CHECK_ZX(zx_vcpu_resume(vcpu, &packet));
    CHECK(packet.type == type, "packet type %u, want %u", packet.type, type);
    CHECK(type != ZX_PKT_TYPE_GUEST_IO || packet.guest_io.port == port, "port %#x, want %#x",
          packet.guest_io.port, port);
}
