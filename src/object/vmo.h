// zxhv: virtual memory objects, backed by memfd so that the same pages can be mapped into the host
// (zx_vmar_root_self) and into guests (KVM memslots).
#ifndef ZXHV_OBJECT_VMO_H_
#define ZXHV_OBJECT_VMO_H_

#include <pthread.h>
#include <zircon/types.h>

#include "object/object.h"

#define PAGE_SIZE 4096u
#define PAGE_MASK ((uint64_t)PAGE_SIZE - 1u)
#define IS_PAGE_ALIGNED(x) ((((uint64_t)(x)) & PAGE_MASK) == 0)

struct vmo {
    struct object base;
    int fd;  // memfd; owned
    bool resizable;
    // Readers (read, write, map) hold it shared; set_size holds it exclusive. Guards |size|.
    pthread_rwlock_t lock;
    uint64_t size;
};

// Creates a VMO of |size| rounded up to whole pages. Errors: ZX_ERR_OUT_OF_RANGE (too large),
// ZX_ERR_NO_MEMORY, ZX_ERR_NO_RESOURCES (no file descriptors).
zx_status_t vmo_create(uint64_t size, bool resizable, struct vmo** out);

// Copy between the VMO and caller memory; a bad caller pointer gives ZX_ERR_INVALID_ARGS and a range
// beyond the VMO ZX_ERR_OUT_OF_RANGE.
zx_status_t vmo_read(struct vmo* vmo, void* user_buf, uint64_t offset, size_t len);
zx_status_t vmo_write(struct vmo* vmo, const void* user_buf, uint64_t offset, size_t len);

uint64_t vmo_get_size(struct vmo* vmo);
// Errors: ZX_ERR_UNAVAILABLE (not resizable), ZX_ERR_OUT_OF_RANGE, ZX_ERR_NO_MEMORY.
zx_status_t vmo_set_size(struct vmo* vmo, uint64_t size);

static inline struct vmo* to_vmo(struct object* obj) { return (struct vmo*)obj; }

#endif  // ZXHV_OBJECT_VMO_H_
