// zxhv: sorted VMO mappings with splitting and merging (see vm_aspace.h).
#define _GNU_SOURCE
#include "object/vm_aspace.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <zircon/errors.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

void vm_aspace_init(struct vm_aspace* as, bool is_host, uint64_t base, uint64_t size,
                    const struct vm_aspace_ops* ops, void* owner) {
    atomic_init(&as->refs, 1);
    as->is_host = is_host;
    as->base = base;
    as->size = size;
    as->ops = ops;
    as->owner = owner;
    pthread_mutex_init(&as->lock, NULL);
    as->destroyed = false;
    as->mappings = NULL;
}

void vm_aspace_ref(struct vm_aspace* as) {
    atomic_fetch_add_explicit(&as->refs, 1, memory_order_relaxed);
}

void vm_aspace_unref(struct vm_aspace* as) {
    if (atomic_fetch_sub_explicit(&as->refs, 1, memory_order_acq_rel) == 1) {
        vm_aspace_destroy(as);
        pthread_mutex_destroy(&as->lock);
        as->ops->release(as);
    }
}

static uint64_t end_of(const struct vm_mapping* m) { return m->base + m->len; }

static int host_prot(uint32_t perms, bool is_host) {
    int prot = PROT_NONE;
    if (perms & ZX_VM_PERM_READ) prot |= PROT_READ;
    if (perms & ZX_VM_PERM_WRITE) prot |= PROT_WRITE;
    // A guest's view in the host is only ever read and written; execution happens in the guest.
    if (is_host && (perms & ZX_VM_PERM_EXECUTE)) prot |= PROT_EXEC;
    return prot;
}

// Maps the VMO range at |where| (exactly there with |fixed|, or only there if free with a hint).
static uint8_t* map_host(void* where, int fixed_flag, uint64_t len, int prot, int fd,
                         uint64_t offset) {
    void* p = mmap(where, len, prot, MAP_SHARED | fixed_flag, fd, (off_t)offset);
    if (p == MAP_FAILED) return NULL;
    if (where != NULL && p != where) {
        // Old kernels ignore MAP_FIXED_NOREPLACE and treat it as a hint.
        munmap(p, len);
        return NULL;
    }
    return p;
}

static void free_mapping(struct vm_mapping* m) {
    object_unref(&m->vmo->base);
    free(m);
}

// Removes [a, b) from every mapping it touches. Caller holds the lock.
static zx_status_t cut_locked(struct vm_aspace* as, uint64_t a, uint64_t b) {
    // A cut in the middle of one mapping needs one more backing than it frees; make sure there is
    // one before changing anything, so an unmap never leaves a mapping without its backing.
    for (struct vm_mapping* m = as->mappings; m != NULL; m = m->next) {
        if (m->base < a && end_of(m) > b && m->backing != VM_NO_BACKING &&
            as->ops->free_backings(as) < 1) {
            return ZX_ERR_NO_RESOURCES;
        }
    }
    zx_status_t status = ZX_OK;
    struct vm_mapping** link = &as->mappings;
    while (*link != NULL) {
        struct vm_mapping* m = *link;
        if (end_of(m) <= a || m->base >= b) {
            link = &m->next;
            continue;
        }
        uint64_t lo = m->base > a ? m->base : a;
        uint64_t hi = end_of(m) < b ? end_of(m) : b;
        bool had_backing = m->backing != VM_NO_BACKING;
        if (had_backing) as->ops->detach(as, m);
        munmap(m->host + (lo - m->base), hi - lo);

        struct vm_mapping* right = NULL;
        if (hi < end_of(m)) {
            right = malloc(sizeof(*right));
            if (right != NULL) {
                *right = *m;
                right->base = hi;
                right->len = end_of(m) - hi;
                right->vmo_offset = m->vmo_offset + (hi - m->base);
                right->host = m->host + (hi - m->base);
                right->backing = VM_NO_BACKING;
                object_ref(&m->vmo->base);
            } else {
                // Out of memory for the bookkeeping: drop the right part rather than leak it,
                // and say so.
                munmap(m->host + (hi - m->base), end_of(m) - hi);
                status = ZX_ERR_NO_MEMORY;
            }
        }
        if (lo > m->base) {
            m->len = lo - m->base;  // keep the left part in place
            if (had_backing && as->ops->attach(as, m) != ZX_OK) status = ZX_ERR_NO_MEMORY;
            link = &m->next;
        } else {
            *link = m->next;
            free_mapping(m);
        }
        if (right != NULL) {
            right->next = *link;
            *link = right;
            if (had_backing && as->ops->attach(as, right) != ZX_OK) status = ZX_ERR_NO_MEMORY;
            link = &right->next;
        }
    }
    return status;
}

// Finds the lowest free range of |len| bytes. Caller holds the lock.
static bool find_gap_locked(struct vm_aspace* as, uint64_t len, uint64_t* out) {
    uint64_t cursor = as->base;
    uint64_t limit = as->base + as->size;
    for (struct vm_mapping* m = as->mappings; m != NULL; m = m->next) {
        if (m->base >= cursor && m->base - cursor >= len) break;
        if (end_of(m) > cursor) cursor = end_of(m);
    }
    if (cursor > limit || limit - cursor < len) return false;
    *out = cursor;
    return true;
}

static bool overlaps_locked(struct vm_aspace* as, uint64_t a, uint64_t b) {
    for (struct vm_mapping* m = as->mappings; m != NULL; m = m->next) {
        if (m->base < b && end_of(m) > a) return true;
    }
    return false;
}

// Whether |n| continues |m| in the aspace, in the VMO and in the host, with the same permissions.
static bool contiguous(const struct vm_mapping* m, const struct vm_mapping* n) {
    return m->vmo == n->vmo && end_of(m) == n->base && m->vmo_offset + m->len == n->vmo_offset &&
           m->host + m->len == n->host && m->perms == n->perms;
}

// Folds |n| into |m| (|m| precedes it). Both are in the list, |n| right after |m|.
static void merge_locked(struct vm_aspace* as, struct vm_mapping* m, struct vm_mapping* n) {
    // Either side may lack a backing (a failed re-add, or RAM beyond what the guest can address):
    // every backing goes, and the merged range gets one if either had one.
    bool backed = m->backing != VM_NO_BACKING || n->backing != VM_NO_BACKING;
    if (m->backing != VM_NO_BACKING) as->ops->detach(as, m);
    if (n->backing != VM_NO_BACKING) as->ops->detach(as, n);
    m->len += n->len;
    m->next = n->next;
    free_mapping(n);
    if (backed && as->ops->attach(as, m) != ZX_OK) {
        // Could not re-attach the merged range (KVM refused): leave it unbacked rather than
        // half-described; accesses then fault like an unmapped range.
        m->backing = VM_NO_BACKING;
    }
}

zx_status_t vm_aspace_map(struct vm_aspace* as, zx_vm_option_t options, uint64_t offset,
                          struct vmo* vmo, uint64_t vmo_offset, uint64_t len, zx_vaddr_t* out) {
    bool specific = options & (ZX_VM_SPECIFIC | ZX_VM_SPECIFIC_OVERWRITE);
    bool overwrite = options & ZX_VM_SPECIFIC_OVERWRITE;
    uint32_t perms = options & (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE);
    zx_status_t status = ZX_OK;

    struct vm_mapping* m = calloc(1, sizeof(*m));
    if (m == NULL) return ZX_ERR_NO_MEMORY;

    pthread_mutex_lock(&as->lock);
    uint64_t base = 0;
    // The order of Zircon's CreateSubVmarInternal (docs/notes/ref-supporting-syscalls.md §5.1).
    if (as->destroyed) {
        status = ZX_ERR_BAD_STATE;
    } else if (len == 0 || (!specific && offset != 0)) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (offset >= as->size || len > as->size - offset) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (specific) {
        base = as->base + offset;
        if (!IS_PAGE_ALIGNED(base)) {
            status = ZX_ERR_INVALID_ARGS;
        } else if (!overwrite && overlaps_locked(as, base, base + len)) {
            status = ZX_ERR_NO_MEMORY;
        }
    } else if (!as->is_host && !find_gap_locked(as, len, &base)) {
        status = ZX_ERR_NO_MEMORY;
    }
    if (status == ZX_OK && perms != 0 && !as->is_host && as->ops->free_backings(as) < 1) {
        status = ZX_ERR_NO_RESOURCES;
    }
    if (status != ZX_OK) goto fail;

    // Place the bytes in the host.
    int prot = host_prot(perms, as->is_host);
    pthread_rwlock_rdlock(&vmo->lock);
    if (as->is_host) {
        if (!specific) {
            m->host = map_host(NULL, 0, len, prot, vmo->fd, vmo_offset);
        } else if (!overwrite) {
            // Anything in the way, ours or not, means the range is taken.
            m->host = map_host((void*)base, MAP_FIXED_NOREPLACE, len, prot, vmo->fd, vmo_offset);
        } else {
            // Overwrite only what zx_vmar_map made: probe each gap between our mappings first,
            // so that memory the library does not own (the caller's heap, code) is never replaced.
            uint64_t cursor = base;
            bool free_gaps = true;
            for (struct vm_mapping* n = as->mappings; free_gaps && cursor < base + len; n = n ? n->next : NULL) {
                uint64_t gap_end = base + len;
                if (n != NULL && end_of(n) <= cursor) continue;
                if (n != NULL && n->base < gap_end) gap_end = n->base > cursor ? n->base : cursor;
                if (gap_end > cursor) {
                    void* probe = mmap((void*)cursor, gap_end - cursor, PROT_NONE,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
                    if (probe == MAP_FAILED || probe != (void*)cursor) free_gaps = false;
                    if (probe != MAP_FAILED) munmap(probe, gap_end - cursor);
                }
                if (n == NULL) break;
                cursor = end_of(n) > cursor ? end_of(n) : cursor;
            }
            if (free_gaps) {
                status = cut_locked(as, base, base + len);
                if (status == ZX_OK) {
                    m->host = map_host((void*)base, MAP_FIXED, len, prot, vmo->fd, vmo_offset);
                }
            } else {
                status = ZX_ERR_NO_MEMORY;
            }
        }
        if (m->host != NULL && !specific) base = (uint64_t)(uintptr_t)m->host;
    } else {
        if (overwrite) {
            status = cut_locked(as, base, base + len);
        }
        // Prefer the host address that continues a neighbour, so the two can share a backing.
        struct vm_mapping *prev = NULL, *next = as->mappings;
        while (next != NULL && next->base < base) {
            prev = next;
            next = next->next;
        }
        if (status == ZX_OK && prev != NULL && end_of(prev) == base && prev->vmo == vmo) {
            m->host = map_host(prev->host + prev->len, MAP_FIXED_NOREPLACE, len, prot, vmo->fd,
                               vmo_offset);
        }
        if (status == ZX_OK && m->host == NULL && next != NULL && next->base == base + len &&
            next->vmo == vmo && (uintptr_t)next->host >= len) {
            m->host = map_host(next->host - len, MAP_FIXED_NOREPLACE, len, prot, vmo->fd,
                               vmo_offset);
        }
        if (status == ZX_OK && m->host == NULL) {
            m->host = map_host(NULL, 0, len, prot, vmo->fd, vmo_offset);
        }
    }
    pthread_rwlock_unlock(&vmo->lock);
    if (status == ZX_OK && m->host == NULL) {
        status = errno == EEXIST ? ZX_ERR_NO_MEMORY
                 : (errno == EMFILE || errno == ENFILE) ? ZX_ERR_NO_RESOURCES
                 : ZX_ERR_NO_MEMORY;
    }
    if (status != ZX_OK) goto fail;

    object_ref(&vmo->base);
    m->base = base;
    m->len = len;
    m->vmo = vmo;
    m->vmo_offset = vmo_offset;
    m->perms = perms;
    m->backing = VM_NO_BACKING;
    if (perms != 0) {
        status = as->ops->attach(as, m);
        if (status != ZX_OK) {
            munmap(m->host, len);
            object_unref(&vmo->base);
            goto fail;
        }
    }

    // Insert in order, then merge with neighbours that continue it.
    struct vm_mapping** link = &as->mappings;
    struct vm_mapping* prev = NULL;
    while (*link != NULL && (*link)->base < base) {
        prev = *link;
        link = &(*link)->next;
    }
    m->next = *link;
    *link = m;
    if (m->next != NULL && contiguous(m, m->next)) merge_locked(as, m, m->next);
    if (prev != NULL && contiguous(prev, m)) merge_locked(as, prev, m);
    pthread_mutex_unlock(&as->lock);
    *out = (zx_vaddr_t)base;
    return ZX_OK;

fail:
    pthread_mutex_unlock(&as->lock);
    free(m);
    return status;
}

zx_status_t vm_aspace_unmap(struct vm_aspace* as, uint64_t addr, uint64_t len) {
    pthread_mutex_lock(&as->lock);
    zx_status_t status = ZX_OK;
    if (as->destroyed) {
        status = ZX_ERR_BAD_STATE;
    } else if (addr < as->base || addr - as->base > as->size || as->size - (addr - as->base) < len) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = cut_locked(as, addr, addr + len);
    }
    pthread_mutex_unlock(&as->lock);
    return status;
}

void vm_aspace_destroy(struct vm_aspace* as) {
    pthread_mutex_lock(&as->lock);
    as->destroyed = true;
    struct vm_mapping* m = as->mappings;
    as->mappings = NULL;
    while (m != NULL) {
        struct vm_mapping* next = m->next;
        if (m->backing != VM_NO_BACKING) as->ops->detach(as, m);
        munmap(m->host, m->len);
        free_mapping(m);
        m = next;
    }
    pthread_mutex_unlock(&as->lock);
}

void vm_aspace_for_each(struct vm_aspace* as, void (*fn)(struct vm_mapping* m, void* ctx),
                        void* ctx) {
    pthread_mutex_lock(&as->lock);
    for (struct vm_mapping* m = as->mappings; m != NULL; m = m->next) fn(m, ctx);
    pthread_mutex_unlock(&as->lock);
}
