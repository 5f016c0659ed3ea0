// zxhv: guest objects.
#include "object/guest.h"

#include <stdlib.h>
#include <unistd.h>
#include <zircon/errors.h>

#include "arch/x86/kvm.h"
#include "hv/gpas.h"

// The guest owns its memory: once it is gone, its VMAR refuses new mappings (ZX_ERR_BAD_STATE),
// as Zircon's destroyed guest aspace does (spec §3.2), and every memslot and host view goes.
static void guest_destroy(struct object* obj) {
    struct guest* guest = to_guest(obj);
    vm_aspace_destroy(guest->gpas);
    vm_aspace_unref(guest->gpas);
    close(guest->vm_fd);
    free(guest);
}

static const struct object_ops guest_ops = {
    .type = ZX_OBJ_TYPE_GUEST,
    .destroy = guest_destroy,
};

zx_status_t guest_create(struct guest** out_guest, struct vmar** out_vmar) {
    struct guest* guest = calloc(1, sizeof(*guest));
    if (guest == NULL) return ZX_ERR_NO_MEMORY;
    zx_status_t status = kvm_vm_create(&guest->vm_fd);
    if (status != ZX_OK) {
        free(guest);
        return status;
    }
    status = gpas_create(guest->vm_fd, &guest->gpas);
    if (status != ZX_OK) {
        close(guest->vm_fd);
        free(guest);
        return status;
    }
    object_init(&guest->base, &guest_ops);
    // The VMAR's related koid is 0, as for every VMAR on Zircon.
    status = vmar_create(guest->gpas, ZX_KOID_INVALID, out_vmar);
    if (status != ZX_OK) {
        object_unref(&guest->base);
        return status;
    }
    *out_guest = guest;
    return ZX_OK;
}
