// zxhv: zx_vcpu_create, zx_vcpu_resume, zx_vcpu_interrupt, zx_vcpu_read_state,
// zx_vcpu_write_state (spec §1.3-1.7), and the extensions zx_vcpu_kick (§1.8),
// zxhv_vcpu_mem_access and zxhv_vcpu_mem_complete_read.
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zxhv.h>

#include "hv/gpas.h"
#include "object/vcpu.h"
#include "syscalls/priv.h"

ZX_SYSCALL zx_status_t zx_vcpu_create(zx_handle_t guest_handle, uint32_t options,
                                      zx_vaddr_t entry, zx_handle_t* out) {
    if (options != 0) return ZX_ERR_INVALID_ARGS;  // before the handle (spec §1.3 step 1)
    struct object* obj;
    zx_status_t status =
        handle_get(guest_handle, ZX_OBJ_TYPE_GUEST, ZX_RIGHT_MANAGE_PROCESS, &obj, NULL);
    if (status != ZX_OK) return status;
    struct vcpu* vcpu = NULL;
    if (entry >= GPAS_SIZE) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (user_probe(out, sizeof(*out), true) != ZX_OK) {
        // KVM never gives a VCPU id back, so a bad pointer is found before one is spent.
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = vcpu_create(to_guest(obj), entry, &vcpu);
    }
    object_unref(obj);
    if (status != ZX_OK) return status;
    return make_handle_out(&vcpu->base, ZX_DEFAULT_VCPU_RIGHTS, out);
}

static zx_status_t lookup(zx_handle_t handle, zx_rights_t rights, struct vcpu** out) {
    struct object* obj;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_VCPU, rights, &obj, NULL);
    if (status == ZX_OK) *out = to_vcpu(obj);
    return status;
}

ZX_SYSCALL zx_status_t zx_vcpu_resume(zx_handle_t handle, zx_port_packet_t* packet) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_EXECUTE, &vcpu);
    if (status != ZX_OK) return status;
    if (!vcpu_on_own_thread(vcpu)) {
        status = ZX_ERR_BAD_STATE;
    } else if (packet == NULL) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        zx_port_packet_t p;
        status = x86_vcpu_resume(&vcpu->arch, &p);
        if (status == ZX_OK) status = user_copy_out(packet, &p, sizeof(p));
    }
    object_unref(&vcpu->base);
    return status;
}

ZX_SYSCALL zx_status_t zx_vcpu_interrupt(zx_handle_t handle, uint32_t vector) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_SIGNAL, &vcpu);
    if (status != ZX_OK) return status;
    if (vector >= INTERRUPT_VECTORS) {
        status = ZX_ERR_OUT_OF_RANGE;
    } else {
        x86_vcpu_interrupt(&vcpu->arch, vector);
    }
    object_unref(&vcpu->base);
    return status;
}

ZX_SYSCALL zx_status_t zx_vcpu_kick(zx_handle_t handle) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_EXECUTE, &vcpu);
    if (status != ZX_OK) return status;
    x86_vcpu_kick(&vcpu->arch);
    object_unref(&vcpu->base);
    return ZX_OK;
}

ZX_SYSCALL zx_status_t zx_vcpu_read_state(zx_handle_t handle, uint32_t kind, void* buffer,
                                          size_t buffer_size) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_READ, &vcpu);
    if (status != ZX_OK) return status;
    zx_vcpu_state_t state;
    if (buffer_size > sizeof(state)) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (!vcpu_on_own_thread(vcpu)) {
        status = ZX_ERR_BAD_STATE;
    } else if (kind != ZX_VCPU_STATE || buffer_size != sizeof(state)) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = x86_vcpu_read_state(&vcpu->arch, &state);
        if (status == ZX_OK) status = user_copy_out(buffer, &state, sizeof(state));
    }
    object_unref(&vcpu->base);
    return status;
}

ZX_SYSCALL zx_status_t zx_vcpu_write_state(zx_handle_t handle, uint32_t kind, const void* buffer,
                                           size_t buffer_size) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_WRITE, &vcpu);
    if (status != ZX_OK) return status;
    union {
        zx_vcpu_state_t state;
        zx_vcpu_io_t io;
    } in;
    if (buffer_size > sizeof(in.state)) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (user_copy_in(&in, buffer, buffer_size) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (!vcpu_on_own_thread(vcpu)) {
        status = ZX_ERR_BAD_STATE;
    } else if (kind == ZX_VCPU_STATE && buffer_size == sizeof(in.state)) {
        status = x86_vcpu_write_state(&vcpu->arch, &in.state);
    } else if (kind == ZX_VCPU_IO && buffer_size == sizeof(in.io)) {
        status = x86_vcpu_write_io(&vcpu->arch, &in.io);
    } else {
        status = ZX_ERR_INVALID_ARGS;
    }
    object_unref(&vcpu->base);
    return status;
}

ZX_SYSCALL zx_status_t zxhv_vcpu_mem_access(zx_handle_t handle, zxhv_mem_access_t* access) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_READ, &vcpu);
    if (status != ZX_OK) return status;
    zxhv_mem_access_t a;
    if (!vcpu_on_own_thread(vcpu)) {
        status = ZX_ERR_BAD_STATE;
    } else {
        status = x86_vcpu_mem_access(&vcpu->arch, &a);
        if (status == ZX_OK) status = user_copy_out(access, &a, sizeof(a));
    }
    object_unref(&vcpu->base);
    return status;
}

ZX_SYSCALL zx_status_t zxhv_vcpu_mem_complete_read(zx_handle_t handle, uint64_t value) {
    struct vcpu* vcpu;
    zx_status_t status = lookup(handle, ZX_RIGHT_WRITE, &vcpu);
    if (status != ZX_OK) return status;
    status = vcpu_on_own_thread(vcpu) ? x86_vcpu_mem_complete_read(&vcpu->arch, value)
                                      : ZX_ERR_BAD_STATE;
    object_unref(&vcpu->base);
    return status;
}
