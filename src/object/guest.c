// zxhv: guest objects.
#include "object/guest.h"

#include <stdlib.h>
#include <unistd.h>
#include <zircon/errors.h>

#include "arch/x86/kvm.h"
#include "hv/bell_fast.h"
#include "hv/gpas.h"

// The guest owns its memory: once it is gone, its VMAR refuses new mappings (ZX_ERR_BAD_STATE),
// as Zircon's destroyed guest aspace does (spec §3.2), and every memslot and host view goes.
static void guest_destroy(struct object* obj) {
    struct guest* guest = to_guest(obj);
    bell_fast_stop_all(&guest->traps, guest->vm_fd);
    trap_map_destroy(&guest->traps);
    pthread_mutex_destroy(&guest->vcpu_lock);
    // The VM goes first (its VCPUs, which hold the guest, are gone): KVM then drops all memslots
    // at once, and unmapping the host views no longer makes it zap the guest's page tables.
    // Deleting the memslots one by one from a live VM cost about 10 ms per guest (benchmarks.md).
    gpas_vm_closed(guest->gpas);
    close(guest->vm_fd);
    vm_aspace_destroy(guest->gpas);
    vm_aspace_unref(guest->gpas);
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
    // Best effort: without it the guest's x2APIC accesses #GP (docs/host-differences.md).
    kvm_vm_route_msrs(guest->vm_fd);
    trap_map_init(&guest->traps);
    pthread_mutex_init(&guest->vcpu_lock, NULL);
    guest->max_kvm_ids = kvm_vm_max_vcpu_ids(guest->vm_fd);
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

zx_status_t guest_alloc_vcpu(struct guest* guest, uint32_t* index, uint32_t* kvm_id) {
    zx_status_t status = ZX_ERR_NO_RESOURCES;
    pthread_mutex_lock(&guest->vcpu_lock);
    if (guest->vpids != UINT64_MAX && guest->next_kvm_id < guest->max_kvm_ids) {
        uint32_t i = (uint32_t)__builtin_ctzll(~guest->vpids);
        guest->vpids |= 1ull << i;
        *index = i;
        *kvm_id = guest->next_kvm_id++;
        status = ZX_OK;
    }
    pthread_mutex_unlock(&guest->vcpu_lock);
    return status;
}

void guest_free_vcpu(struct guest* guest, uint32_t index) {
    pthread_mutex_lock(&guest->vcpu_lock);
    guest->vpids &= ~(1ull << index);
    pthread_mutex_unlock(&guest->vcpu_lock);
}
