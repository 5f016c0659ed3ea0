// zxhv: zx_guest_create (spec §1.1).
#include <stdint.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "hv/bell_fast.h"
#include "object/guest.h"
#include "object/port.h"
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

// The x86 check order of Zircon's Guest::SetTrap (spec §1.2, §3.3).
ZX_SYSCALL zx_status_t zx_guest_set_trap(zx_handle_t guest_handle, uint32_t kind, zx_vaddr_t addr,
                                         size_t len, zx_handle_t port_handle, uint64_t key) {
    struct object* guest_obj;
    zx_status_t status =
        handle_get(guest_handle, ZX_OBJ_TYPE_GUEST, ZX_RIGHT_WRITE, &guest_obj, NULL);
    if (status != ZX_OK) return status;
    struct object* port_obj = NULL;
    if (port_handle != ZX_HANDLE_INVALID) {
        status = handle_get(port_handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_WRITE, &port_obj, NULL);
        if (status != ZX_OK) {
            object_unref(guest_obj);
            return status;
        }
    }
    struct guest* guest = to_guest(guest_obj);
    struct port* port = port_obj ? to_port(port_obj) : NULL;
    if (len == 0) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (SIZE_MAX - len < addr) {
        status = ZX_ERR_OUT_OF_RANGE;
    } else {
        switch (kind) {
            case ZX_GUEST_TRAP_MEM:
                if (port != NULL) status = ZX_ERR_INVALID_ARGS;
                break;
            case ZX_GUEST_TRAP_BELL:
                if (port == NULL) status = ZX_ERR_INVALID_ARGS;
                break;
            case ZX_GUEST_TRAP_IO:
                if (port != NULL) {
                    status = ZX_ERR_INVALID_ARGS;
                } else if (addr + len > UINT16_MAX) {
                    status = ZX_ERR_OUT_OF_RANGE;  // so port 0xFFFF can't be trapped, as on Zircon
                } else {
                    status = trap_map_insert(&guest->traps, kind, addr, len, NULL, key);
                }
                goto out;
            default:
                status = ZX_ERR_INVALID_ARGS;
                break;
        }
        if (status == ZX_OK && (!IS_PAGE_ALIGNED(addr) || !IS_PAGE_ALIGNED(len))) {
            status = ZX_ERR_INVALID_ARGS;
        }
        // The range stops being RAM first, so accesses reach the trap (this happens even if the
        // insert then finds a duplicate, as on Zircon).
        if (status == ZX_OK) status = vm_aspace_unmap(guest->gpas, addr, len);
        if (status == ZX_OK) status = trap_map_insert(&guest->traps, kind, addr, len, port, key);
    }
out:
    if (port_obj != NULL) object_unref(port_obj);
    object_unref(guest_obj);
    return status;
}

// The doorbell fast path (zxhv.h): guest handle, options, size, range, then the trap.
ZX_SYSCALL zx_status_t zxhv_guest_set_bell_fastpath(zx_handle_t guest_handle, zx_gpaddr_t addr,
                                                    uint32_t size, uint32_t options) {
    struct object* guest_obj;
    zx_status_t status =
        handle_get(guest_handle, ZX_OBJ_TYPE_GUEST, ZX_RIGHT_WRITE, &guest_obj, NULL);
    if (status != ZX_OK) return status;
    struct guest* guest = to_guest(guest_obj);
    if (options != ZXHV_BELL_EXACT && options != ZXHV_BELL_COALESCE) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (size != 1 && size != 2 && size != 4 && size != 8) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (addr > UINT64_MAX - size) {
        status = ZX_ERR_OUT_OF_RANGE;
    } else {
        status = bell_fast_add(&guest->traps, guest->vm_fd, addr, size,
                               options == ZXHV_BELL_COALESCE);
    }
    object_unref(guest_obj);
    return status;
}
