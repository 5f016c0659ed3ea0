// zxhv: VMAR objects and the host root VMAR.
#include "object/vmar.h"

#include <pthread.h>
#include <stdlib.h>
#include <zircon/errors.h>
#include <zircon/rights.h>

#include "object/handle.h"

static void vmar_destroy(struct object* obj) {
    struct vmar* vmar = to_vmar(obj);
    vm_aspace_unref(vmar->as);
    free(vmar);
}

static zx_koid_t vmar_related_koid(const struct object* obj) {
    return ((const struct vmar*)obj)->related_koid;
}

static const struct object_ops vmar_ops = {
    .type = ZX_OBJ_TYPE_VMAR,
    .destroy = vmar_destroy,
    .related_koid = vmar_related_koid,
};

zx_status_t vmar_create(struct vm_aspace* as, zx_koid_t related_koid, struct vmar** out) {
    struct vmar* vmar = calloc(1, sizeof(*vmar));
    if (vmar == NULL) return ZX_ERR_NO_MEMORY;
    vm_aspace_ref(as);
    vmar->as = as;
    vmar->related_koid = related_koid;
    vmar->can_map = ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                    ZX_VM_CAN_MAP_EXECUTE;
    object_init(&vmar->base, &vmar_ops);
    *out = vmar;
    return ZX_OK;
}

// The host aspace needs no backing beyond the mmap that vm_aspace makes.
static zx_status_t host_attach(struct vm_aspace* as, struct vm_mapping* m) {
    (void)as;
    (void)m;
    return ZX_OK;
}
static void host_detach(struct vm_aspace* as, struct vm_mapping* m) {
    (void)as;
    (void)m;
}
static uint32_t host_free_backings(struct vm_aspace* as) {
    (void)as;
    return UINT32_MAX;
}
static void host_release(struct vm_aspace* as) { free(as); }

static const struct vm_aspace_ops host_ops = {
    .attach = host_attach,
    .detach = host_detach,
    .free_backings = host_free_backings,
    .release = host_release,
};

static pthread_once_t root_once = PTHREAD_ONCE_INIT;
static zx_handle_t root_handle = ZX_HANDLE_INVALID;
// The host address space outlives its handle: as on Zircon, closing the root VMAR handle leaves
// every mapping in place (this reference is never dropped).
static struct vm_aspace* volatile host_aspace;  // volatile: LeakSanitizer must see it

static void make_root(void) {
    struct vm_aspace* as = calloc(1, sizeof(*as));
    if (as == NULL) return;
    host_aspace = as;
    vm_aspace_init(as, true, HOST_ASPACE_BASE, HOST_ASPACE_SIZE, &host_ops, NULL);
    struct vmar* vmar;
    if (vmar_create(as, ZX_KOID_INVALID, &vmar) == ZX_OK) {
        // Root VMAR rights: the VMAR defaults plus what the root may map (spec §1.1, §2.4).
        handle_create(&vmar->base,
                      ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE,
                      &root_handle);
        object_unref(&vmar->base);
    }
}

zx_handle_t vmar_root_self_handle(void) {
    pthread_once(&root_once, make_root);
    return root_handle;
}
