// zxhv: memfd-backed VMOs.
#define _GNU_SOURCE
#include "object/vmo.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zircon/errors.h>

#include "util/user_copy.h"

// The largest size a VMO may have: the largest page-aligned value a file offset can hold.
#define VMO_MAX_SIZE ((uint64_t)INT64_MAX & ~PAGE_MASK)

static void vmo_destroy(struct object* obj) {
    struct vmo* vmo = to_vmo(obj);
    close(vmo->fd);
    pthread_rwlock_destroy(&vmo->lock);
    free(vmo);
}

static const struct object_ops vmo_ops = {
    .type = ZX_OBJ_TYPE_VMO,
    .waitable = true,
    .destroy = vmo_destroy,
};

static zx_status_t errno_to_status(int err) {
    switch (err) {
        case EMFILE:
        case ENFILE:
            return ZX_ERR_NO_RESOURCES;
        case EFBIG:
        case EINVAL:
            return ZX_ERR_OUT_OF_RANGE;
        default:
            return ZX_ERR_NO_MEMORY;
    }
}

static bool round_size(uint64_t size, uint64_t* rounded) {
    if (size > VMO_MAX_SIZE) return false;
    *rounded = (size + PAGE_MASK) & ~PAGE_MASK;
    return true;
}

// Sets the memfd's size; a signal arriving meanwhile (EINTR) is not the caller's error.
static int resize_fd(int fd, uint64_t size) {
    int rc;
    do {
        rc = ftruncate(fd, (off_t)size);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

zx_status_t vmo_create(uint64_t size, bool resizable, struct vmo** out) {
    uint64_t rounded;
    if (!round_size(size, &rounded)) return ZX_ERR_OUT_OF_RANGE;
    struct vmo* vmo = calloc(1, sizeof(*vmo));
    if (vmo == NULL) return ZX_ERR_NO_MEMORY;
    vmo->fd = memfd_create("zxhv-vmo", MFD_CLOEXEC);
    if (vmo->fd < 0) {
        zx_status_t status = errno_to_status(errno);
        free(vmo);
        return status;
    }
    if (resize_fd(vmo->fd, rounded) != 0) {
        zx_status_t status = errno_to_status(errno);
        close(vmo->fd);
        free(vmo);
        return status;
    }
    pthread_rwlock_init(&vmo->lock, NULL);
    vmo->size = rounded;
    vmo->resizable = resizable;
    object_init(&vmo->base, &vmo_ops);
    *out = vmo;
    return ZX_OK;
}

// Checks [offset, offset + len) against the size. Caller holds vmo->lock.
static bool in_range(const struct vmo* vmo, uint64_t offset, size_t len) {
    uint64_t end;
    return !__builtin_add_overflow(offset, (uint64_t)len, &end) && end <= vmo->size;
}

// pread/pwrite loop; the kernel reports a bad caller buffer as EFAULT.
static zx_status_t transfer(struct vmo* vmo, void* buf, uint64_t offset, size_t len, bool write) {
    pthread_rwlock_rdlock(&vmo->lock);
    zx_status_t status = ZX_OK;
    if (!in_range(vmo, offset, len)) {
        // Zircon touches the caller's buffer before it checks the range, so a bad buffer wins
        // (docs/notes/ref-supporting-syscalls.md §4); pread/pwrite find it on the good path.
        status = user_probe(buf, len, !write) != ZX_OK ? ZX_ERR_INVALID_ARGS : ZX_ERR_OUT_OF_RANGE;
    }
    while (status == ZX_OK && len > 0) {
        ssize_t n = write ? pwrite(vmo->fd, buf, len, (off_t)offset)
                          : pread(vmo->fd, buf, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            status = (n < 0 && errno == EFAULT) ? ZX_ERR_INVALID_ARGS : ZX_ERR_NO_MEMORY;
            break;
        }
        buf = (char*)buf + n;
        offset += (uint64_t)n;
        len -= (size_t)n;
    }
    pthread_rwlock_unlock(&vmo->lock);
    return status;
}

zx_status_t vmo_read(struct vmo* vmo, void* user_buf, uint64_t offset, size_t len) {
    return transfer(vmo, user_buf, offset, len, false);
}

zx_status_t vmo_write(struct vmo* vmo, const void* user_buf, uint64_t offset, size_t len) {
    return transfer(vmo, (void*)user_buf, offset, len, true);
}

uint64_t vmo_get_size(struct vmo* vmo) {
    pthread_rwlock_rdlock(&vmo->lock);
    uint64_t size = vmo->size;
    pthread_rwlock_unlock(&vmo->lock);
    return size;
}

zx_status_t vmo_set_size(struct vmo* vmo, uint64_t size) {
    if (!vmo->resizable) return ZX_ERR_UNAVAILABLE;
    uint64_t rounded;
    if (!round_size(size, &rounded)) return ZX_ERR_OUT_OF_RANGE;
    pthread_rwlock_wrlock(&vmo->lock);
    zx_status_t status = ZX_OK;
    if (resize_fd(vmo->fd, rounded) != 0) {
        status = errno_to_status(errno);
    } else {
        vmo->size = rounded;
    }
    pthread_rwlock_unlock(&vmo->lock);
    return status;
}
