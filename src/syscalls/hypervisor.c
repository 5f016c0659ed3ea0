// zxhv: zx_guest_create (spec §1.1).
#include <zircon/syscalls/resource.h>

#include "object/guest.h"
#include "object/resource.h"
#include "syscalls/priv.h"

// Checks a resource handle for zx_guest_create: no rights needed; not a resource -> WRONG_TYPE;
// a resource of a kind other than HYPERVISOR or ROOT -> ACCESS_DENIED, as guest_create.md says
// (spec §1.1 and its conflict rule 1: the document wins over the 2018 code's WRONG_TYPE).
static zx_status_t validate_hypervisor_resource(zx_handle_t handle) {
    struct object* obj;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_RESOURCE, 0, &obj, NULL);
    if (status != ZX_OK) return status;
    uint32_t kind = to_resource(obj)->kind;
    object_unref(obj);
    return (kind == ZX_RSRC_KIND_HYPERVISOR || kind == ZX_RSRC_KIND_ROOT) ? ZX_OK
                                                                         : ZX_ERR_ACCESS_DENIED;
}

ZX_SYSCALL zx_status_t zx_guest_create(zx_handle_t resource, uint32_t options,
                                       zx_handle_t* guest_handle, zx_handle_t* vmar_handle) {
    // Options come before the resource (spec §1.1 step 1).
    if (options != 0) return ZX_ERR_INVALID_ARGS;
    zx_status_t status = validate_hypervisor_resource(resource);
    if (status != ZX_OK) return status;

    // Bad output pointers are found before a VM is made for nothing; the copies below can still
    // fail if the memory goes away meanwhile, and are handled.
    if (user_probe(guest_handle, sizeof(*guest_handle), true) != ZX_OK ||
        user_probe(vmar_handle, sizeof(*vmar_handle), true) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }

    struct guest* guest;
    struct vmar* vmar;
    status = guest_create(&guest, &vmar);
    if (status != ZX_OK) return status;

    // Both handles are made, then both delivered; if either pointer is bad, neither handle
    // survives (as Zircon's out-handle wrappers do) and the guest is destroyed.
    zx_handle_t guest_value, vmar_value;
    status = handle_create(&guest->base, ZX_DEFAULT_GUEST_RIGHTS, &guest_value);
    object_unref(&guest->base);
    if (status != ZX_OK) {
        object_unref(&vmar->base);
        return status;
    }
    // The root VMAR can map anything: its rights add READ, WRITE and EXECUTE (spec §1.1).
    status = handle_create(&vmar->base,
                           ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE |
                               ZX_RIGHT_EXECUTE,
                           &vmar_value);
    object_unref(&vmar->base);
    if (status != ZX_OK) {
        handle_remove(guest_value);
        return status;
    }
    if (user_copy_out(guest_handle, &guest_value, sizeof(guest_value)) != ZX_OK ||
        user_copy_out(vmar_handle, &vmar_value, sizeof(vmar_value)) != ZX_OK) {
        handle_remove(vmar_value);
        handle_remove(guest_value);
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}
