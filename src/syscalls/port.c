// zxhv: zx_port_create, zx_port_queue, zx_port_wait (spec §1.9, §3.10; check order in
// docs/notes/ref-supporting-syscalls.md §6).
#include <stdlib.h>
#include <zircon/syscalls/port.h>

#include "object/port.h"
#include "syscalls/priv.h"

ZX_SYSCALL zx_status_t zx_port_create(uint32_t options, zx_handle_t* out) {
    if (options != 0 && options != ZX_PORT_BIND_TO_INTERRUPT) return ZX_ERR_INVALID_ARGS;
    struct port* port;
    zx_status_t status = port_create(&port);
    if (status != ZX_OK) return status;
    return make_handle_out(&port->base, ZX_DEFAULT_PORT_RIGHTS, out);
}

ZX_SYSCALL zx_status_t zx_port_queue(zx_handle_t handle, const zx_port_packet_t* packet) {
    struct object* obj;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_WRITE, &obj, NULL);
    if (status != ZX_OK) return status;
    struct port_packet* p = malloc(sizeof(*p));
    if (p == NULL) {
        status = ZX_ERR_NO_MEMORY;
    } else if (user_copy_in(&p->packet, packet, sizeof(p->packet)) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        // Key, status and payload pass through; the type is always USER.
        p->packet.type = ZX_PKT_TYPE_USER;
        p->release = NULL;
        status = port_queue(to_port(obj), p);
    }
    if (status != ZX_OK) free(p);
    object_unref(obj);
    return status;
}

ZX_SYSCALL zx_status_t zx_port_wait(zx_handle_t handle, zx_time_t deadline,
                                    zx_port_packet_t* packet) {
    struct object* obj;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_READ, &obj, NULL);
    if (status != ZX_OK) return status;
    // Unlike Zircon, which took a packet and then lost it on a bad pointer, a NULL pointer is
    // refused before waiting (docs/host-differences.md).
    if (packet == NULL) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = port_wait(to_port(obj), deadline, packet);
    }
    object_unref(obj);
    return status;
}
