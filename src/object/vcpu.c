// zxhv: VCPU objects.
#include "object/vcpu.h"

#include <stdlib.h>
#include <zircon/errors.h>

static void vcpu_destroy(struct object* obj) {
    struct vcpu* vcpu = to_vcpu(obj);
    x86_vcpu_destroy(&vcpu->arch);
    guest_free_vcpu(vcpu->guest, vcpu->index);
    object_unref(&vcpu->guest->base);
    free(vcpu);
}

static const struct object_ops vcpu_ops = {
    .type = ZX_OBJ_TYPE_VCPU,
    .destroy = vcpu_destroy,
};

zx_status_t vcpu_create(struct guest* guest, uint64_t entry, struct vcpu** out) {
    struct vcpu* vcpu = calloc(1, sizeof(*vcpu));
    if (vcpu == NULL) return ZX_ERR_NO_MEMORY;
    uint32_t kvm_id;
    zx_status_t status = guest_alloc_vcpu(guest, &vcpu->index, &kvm_id);
    if (status == ZX_OK) {
        status = x86_vcpu_init(&vcpu->arch, guest, vcpu->index, kvm_id, entry);
        if (status != ZX_OK) guest_free_vcpu(guest, vcpu->index);
    }
    if (status != ZX_OK) {
        free(vcpu);
        return status;
    }
    object_ref(&guest->base);
    vcpu->guest = guest;
    object_init(&vcpu->base, &vcpu_ops);
    *out = vcpu;
    return ZX_OK;
}

bool vcpu_on_own_thread(const struct vcpu* vcpu) {
    return pthread_equal(vcpu->arch.thread, pthread_self());
}
