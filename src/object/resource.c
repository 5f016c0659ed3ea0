// zxhv: resource objects.
#include "object/resource.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/errors.h>
#include <zircon/syscalls/resource.h>

// Guards the list of live resources that have a range.
static pthread_mutex_t ranged_lock = PTHREAD_MUTEX_INITIALIZER;
static struct resource* ranged;

static bool has_range(uint32_t kind) {
    return kind == ZX_RSRC_KIND_MMIO || kind == ZX_RSRC_KIND_IRQ || kind == ZX_RSRC_KIND_IOPORT;
}

static bool intersects(const struct resource* r, uint64_t base, uint64_t size) {
    return r->range_base < base + size && base < r->range_base + r->range_size;
}

static void resource_destroy(struct object* obj) {
    struct resource* r = to_resource(obj);
    if (has_range(r->kind)) {
        pthread_mutex_lock(&ranged_lock);
        for (struct resource** link = &ranged; *link != NULL; link = &(*link)->next_ranged) {
            if (*link == r) {
                *link = r->next_ranged;
                break;
            }
        }
        pthread_mutex_unlock(&ranged_lock);
    }
    free(r);
}

static const struct object_ops resource_ops = {
    .type = ZX_OBJ_TYPE_RESOURCE,
    .waitable = true,
    .destroy = resource_destroy,
};

zx_status_t resource_create(uint32_t kind, uint32_t flags, uint64_t base, uint64_t size,
                            const char* name, size_t name_len, struct resource** out) {
    struct resource* r = calloc(1, sizeof(*r));
    if (r == NULL) return ZX_ERR_NO_MEMORY;
    r->kind = kind;
    r->flags = flags;
    r->range_base = base;
    r->range_size = size;
    if (name_len > ZX_MAX_NAME_LEN - 1) name_len = ZX_MAX_NAME_LEN - 1;
    if (name_len > 0) memcpy(r->name, name, name_len);
    r->name[name_len] = '\0';
    object_init(&r->base, &resource_ops);
    if (has_range(kind)) {
        pthread_mutex_lock(&ranged_lock);
        for (struct resource* other = ranged; other != NULL; other = other->next_ranged) {
            bool exclusive = (flags | other->flags) & ZX_RSRC_FLAG_EXCLUSIVE;
            if (other->kind == kind && exclusive && intersects(other, base, size)) {
                pthread_mutex_unlock(&ranged_lock);
                free(r);
                return ZX_ERR_NOT_FOUND;
            }
        }
        r->next_ranged = ranged;
        ranged = r;
        pthread_mutex_unlock(&ranged_lock);
    }
    *out = r;
    return ZX_OK;
}

static pthread_once_t root_once = PTHREAD_ONCE_INIT;
static struct resource* root;

static void make_root(void) {
    static const char kName[] = "root";
    if (resource_create(ZX_RSRC_KIND_ROOT, 0, 0, 0, kName, sizeof(kName) - 1, &root) != ZX_OK) {
        root = NULL;
    }
}

struct resource* resource_root(void) {
    pthread_once(&root_once, make_root);
    if (root == NULL) return NULL;
    object_ref(&root->base);
    return root;
}
