// zxhv: guest physical address space on KVM memslots.
#include "hv/gpas.h"

#include <stdlib.h>
#include <string.h>
#include <zircon/errors.h>

#include "arch/x86/kvm.h"

struct gpas {
    struct vm_aspace as;  // first: freed through vm_aspace_unref
    int vm_fd;
    bool readonly_mem;
    uint32_t max_slots;
    // Guarded by as.lock: one bit per memslot in use.
    uint32_t used;
    uint64_t* slot_bits;
};

static struct gpas* to_gpas(struct vm_aspace* as) { return (struct gpas*)as; }

static uint32_t alloc_slot(struct gpas* g) {
    for (uint32_t word = 0; word < (g->max_slots + 63) / 64; word++) {
        if (g->slot_bits[word] == UINT64_MAX) continue;
        uint32_t bit = (uint32_t)__builtin_ctzll(~g->slot_bits[word]);
        uint32_t slot = word * 64 + bit;
        if (slot >= g->max_slots) break;
        g->slot_bits[word] |= 1ull << bit;
        g->used++;
        return slot;
    }
    return VM_NO_BACKING;
}

static void free_slot(struct gpas* g, uint32_t slot) {
    g->slot_bits[slot / 64] &= ~(1ull << (slot % 64));
    g->used--;
}

static zx_status_t gpas_attach(struct vm_aspace* as, struct vm_mapping* m) {
    struct gpas* g = to_gpas(as);
    uint32_t slot = alloc_slot(g);
    if (slot == VM_NO_BACKING) return ZX_ERR_NO_RESOURCES;
    // A mapping without ZX_VM_PERM_WRITE is a read-only memslot: a guest store exits, and
    // zx_vcpu_resume returns ZX_ERR_ACCESS_DENIED (later Zircon's behaviour, not REF's RWX; spec
    // §3.11). Without KVM_CAP_READONLY_MEM the slot is writable to KVM but the host view is not,
    // so KVM cannot complete a store either (docs/host-differences.md).
    bool readonly = g->readonly_mem && !(m->perms & ZX_VM_PERM_WRITE);
    zx_status_t status = kvm_set_memslot(g->vm_fd, slot, readonly, m->base, m->len, m->host);
    if (status == ZX_ERR_OUT_OF_RANGE) {
        // KVM refuses guest physical addresses beyond the CPU's physical address width (39-46
        // bits on many hosts), which the guest cannot reach anyway: the mapping stays in the
        // VMAR without a memslot, as Zircon's 2^48 aspace allows (docs/host-differences.md).
        free_slot(g, slot);
        return ZX_OK;
    }
    if (status != ZX_OK) {
        free_slot(g, slot);
        return status;
    }
    m->backing = slot;
    return ZX_OK;
}

void gpas_vm_closed(struct vm_aspace* as) {
    pthread_mutex_lock(&as->lock);
    to_gpas(as)->vm_fd = -1;
    pthread_mutex_unlock(&as->lock);
}

static void gpas_detach(struct vm_aspace* as, struct vm_mapping* m) {
    struct gpas* g = to_gpas(as);
    // Should KVM refuse to delete the slot, it still holds it: its number stays out of use
    // rather than being handed to another mapping. KVM follows the host view's munmap itself.
    if (g->vm_fd < 0 || kvm_set_memslot(g->vm_fd, m->backing, false, m->base, 0, m->host) == ZX_OK) {
        free_slot(g, m->backing);
    }
    m->backing = VM_NO_BACKING;
}

static uint32_t gpas_free_backings(struct vm_aspace* as) {
    struct gpas* g = to_gpas(as);
    return g->max_slots - g->used;
}

static void gpas_release(struct vm_aspace* as) {
    struct gpas* g = to_gpas(as);
    free(g->slot_bits);
    free(g);
}

static const struct vm_aspace_ops gpas_ops = {
    .attach = gpas_attach,
    .detach = gpas_detach,
    .free_backings = gpas_free_backings,
    .release = gpas_release,
};

zx_status_t gpas_create(int vm_fd, struct vm_aspace** out) {
    struct gpas* g = calloc(1, sizeof(*g));
    if (g == NULL) return ZX_ERR_NO_MEMORY;
    g->vm_fd = vm_fd;
    g->max_slots = kvm_vm_max_memslots(vm_fd);
    g->readonly_mem = kvm_vm_has_readonly_mem(vm_fd);
    g->slot_bits = calloc((g->max_slots + 63) / 64, sizeof(uint64_t));
    if (g->slot_bits == NULL) {
        free(g);
        return ZX_ERR_NO_MEMORY;
    }
    vm_aspace_init(&g->as, false, 0, GPAS_SIZE, &gpas_ops, g);
    *out = &g->as;
    return ZX_OK;
}

uint32_t gpas_memslots_used(struct vm_aspace* as) {
    pthread_mutex_lock(&as->lock);
    uint32_t used = to_gpas(as)->used;
    pthread_mutex_unlock(&as->lock);
    return used;
}

void gpas_lock(struct vm_aspace* as) { pthread_mutex_lock(&as->lock); }

void gpas_unlock(struct vm_aspace* as) { pthread_mutex_unlock(&as->lock); }

zx_status_t gpas_access(struct vm_aspace* as, uint64_t gpa, void* buf, size_t len, bool write) {
    pthread_mutex_lock(&as->lock);
    zx_status_t status = gpas_access_locked(as, gpa, buf, len, write);
    pthread_mutex_unlock(&as->lock);
    return status;
}

zx_status_t gpas_access_locked(struct vm_aspace* as, uint64_t gpa, void* buf, size_t len,
                               bool write) {
    zx_status_t status = ZX_OK;
    uint8_t* p = buf;
    while (len > 0 && status == ZX_OK) {
        struct vm_mapping* m = as->mappings;
        while (m != NULL && !(gpa >= m->base && gpa - m->base < m->len)) m = m->next;
        uint64_t off = m ? gpa - m->base : 0;
        // The bytes must exist in the VMO too: touching a page past its end would be SIGBUS.
        if (m == NULL || !(m->perms & ZX_VM_PERM_READ) ||
            m->vmo_offset + off >= vmo_get_size(m->vmo)) {
            status = ZX_ERR_NOT_FOUND;
            break;
        }
        if (write && !(m->perms & ZX_VM_PERM_WRITE)) {
            status = ZX_ERR_ACCESS_DENIED;  // the host view is read-only too
            break;
        }
        uint64_t chunk = m->len - off;
        uint64_t page_left = PAGE_SIZE - (gpa & PAGE_MASK);
        if (chunk > page_left) chunk = page_left;
        if (chunk > len) chunk = len;
        if (write) {
            memcpy(m->host + off, p, chunk);
        } else {
            memcpy(p, m->host + off, chunk);
        }
        p += chunk;
        gpa += chunk;
        len -= chunk;
    }
    return status;
}
