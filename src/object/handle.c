// zxhv: the handle table (see handle.h for the value layout).
#include "object/handle.h"

#include <pthread.h>
#include <stdlib.h>
#include <zircon/errors.h>

#define INDEX_BITS 17u
#define GEN_BITS 12u
#define INDEX_SHIFT 2u
#define GEN_SHIFT (INDEX_SHIFT + INDEX_BITS)
#define MAX_SLOTS (1u << INDEX_BITS)
#define GEN_MASK ((1u << GEN_BITS) - 1u)
#define NO_SLOT UINT32_MAX
// The table grows before fewer slots than this are free, so that a freed slot waits behind at
// least this many others before it is reused.
#define MIN_FREE 1024u

struct slot {
    struct object* obj;  // NULL when free
    zx_rights_t rights;
    uint32_t gen;
    uint32_t next_free;  // FIFO free list link
};

// Guards every field below and every slot.
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot* slots;
static uint32_t capacity;
static uint32_t free_head = NO_SLOT;
static uint32_t free_tail = NO_SLOT;
static size_t live;
static uint32_t free_count;

static zx_handle_t make_value(uint32_t index, uint32_t gen) {
    return (zx_handle_t)((gen << GEN_SHIFT) | (index << INDEX_SHIFT) | ZX_HANDLE_FIXED_BITS_MASK);
}

// Returns the live slot named by |value|, or NULL. Caller holds table_lock.
static struct slot* lookup_locked(zx_handle_t value) {
    if ((value & ZX_HANDLE_FIXED_BITS_MASK) != ZX_HANDLE_FIXED_BITS_MASK) return NULL;
    if (value & 0x80000000u) return NULL;  // never set in a value we hand out
    uint32_t index = (value >> INDEX_SHIFT) & (MAX_SLOTS - 1u);
    uint32_t gen = (value >> GEN_SHIFT) & GEN_MASK;
    if (index >= capacity) return NULL;
    struct slot* s = &slots[index];
    if (s->obj == NULL || s->gen != gen) return NULL;
    return s;
}

static void push_free_locked(uint32_t index) {
    slots[index].next_free = NO_SLOT;
    if (free_tail == NO_SLOT) {
        free_head = index;
    } else {
        slots[free_tail].next_free = index;
    }
    free_tail = index;
    free_count++;
}

static zx_status_t grow_locked(void) {
    if (capacity == MAX_SLOTS) return ZX_ERR_NO_RESOURCES;
    uint32_t new_capacity = capacity ? capacity * 2u : 2048u;
    if (new_capacity > MAX_SLOTS) new_capacity = MAX_SLOTS;
    struct slot* grown = realloc(slots, (size_t)new_capacity * sizeof(*grown));
    if (grown == NULL) return ZX_ERR_NO_MEMORY;
    slots = grown;
    for (uint32_t i = capacity; i < new_capacity; i++) {
        slots[i].obj = NULL;
        slots[i].rights = 0;
        slots[i].gen = 0;
        push_free_locked(i);
    }
    capacity = new_capacity;
    return ZX_OK;
}

// Takes a reference to |obj| and installs it. Caller holds table_lock.
static zx_status_t create_locked(struct object* obj, zx_rights_t rights, zx_handle_t* out) {
    if (free_count < MIN_FREE) {
        zx_status_t status = grow_locked();
        if (status != ZX_OK && free_head == NO_SLOT) return status;
    }
    uint32_t index = free_head;
    struct slot* s = &slots[index];
    free_head = s->next_free;
    free_count--;
    if (free_head == NO_SLOT) free_tail = NO_SLOT;
    object_ref(obj);
    atomic_fetch_add_explicit(&obj->handles, 1, memory_order_acq_rel);
    s->obj = obj;
    s->rights = rights;
    live++;
    *out = make_value(index, s->gen);
    return ZX_OK;
}

// Empties |s| and returns its object, whose reference and handle count the caller must drop with
// release_detached() after unlocking. Caller holds table_lock.
static struct object* detach_locked(struct slot* s) {
    struct object* obj = s->obj;
    s->obj = NULL;
    s->rights = 0;
    s->gen = (s->gen + 1u) & GEN_MASK;
    live--;
    push_free_locked((uint32_t)(s - slots));
    return obj;
}

static void release_detached(struct object* obj) {
    if (atomic_fetch_sub_explicit(&obj->handles, 1, memory_order_acq_rel) == 1 &&
        obj->ops->on_zero_handles != NULL) {
        obj->ops->on_zero_handles(obj);
    }
    object_unref(obj);
}

zx_status_t handle_create(struct object* obj, zx_rights_t rights, zx_handle_t* out) {
    pthread_mutex_lock(&table_lock);
    zx_status_t status = create_locked(obj, rights, out);
    pthread_mutex_unlock(&table_lock);
    return status;
}

zx_status_t handle_get(zx_handle_t value, zx_obj_type_t type, zx_rights_t rights,
                       struct object** obj, zx_rights_t* out_rights) {
    pthread_mutex_lock(&table_lock);
    struct slot* s = lookup_locked(value);
    zx_status_t status = ZX_OK;
    if (s == NULL) {
        status = ZX_ERR_BAD_HANDLE;
    } else if ((s->rights & rights) != rights) {
        status = ZX_ERR_ACCESS_DENIED;
    } else if (type != HANDLE_ANY_TYPE && object_type(s->obj) != type) {
        status = ZX_ERR_WRONG_TYPE;
    } else {
        object_ref(s->obj);
        *obj = s->obj;
        if (out_rights != NULL) *out_rights = s->rights;
    }
    pthread_mutex_unlock(&table_lock);
    return status;
}

bool handle_is_valid(zx_handle_t value) {
    pthread_mutex_lock(&table_lock);
    bool valid = lookup_locked(value) != NULL;
    pthread_mutex_unlock(&table_lock);
    return valid;
}

zx_status_t handle_remove(zx_handle_t value) {
    pthread_mutex_lock(&table_lock);
    struct slot* s = lookup_locked(value);
    struct object* obj = s ? detach_locked(s) : NULL;
    pthread_mutex_unlock(&table_lock);
    if (obj == NULL) return ZX_ERR_BAD_HANDLE;
    release_detached(obj);
    return ZX_OK;
}

// Check order as Zircon's handle_dup_replace (docs/notes/ref-supporting-syscalls.md): a replaced
// handle is removed whatever the outcome, once it has been found.
zx_status_t handle_dup_replace(bool is_replace, zx_handle_t value, zx_rights_t rights,
                               zx_handle_t* out) {
    struct object* removed = NULL;
    zx_status_t status;
    pthread_mutex_lock(&table_lock);
    struct slot* s = lookup_locked(value);
    if (s == NULL) {
        status = ZX_ERR_BAD_HANDLE;
    } else if (!is_replace && !(s->rights & ZX_RIGHT_DUPLICATE)) {
        status = ZX_ERR_ACCESS_DENIED;
    } else {
        if (rights == ZX_RIGHT_SAME_RIGHTS) rights = s->rights;
        if ((s->rights & rights) != rights) {
            status = ZX_ERR_INVALID_ARGS;
        } else {
            uint32_t index = (uint32_t)(s - slots);
            status = create_locked(s->obj, rights, out);
            s = &slots[index];  // the table may have moved
        }
        if (is_replace) removed = detach_locked(s);
    }
    pthread_mutex_unlock(&table_lock);
    if (removed != NULL) release_detached(removed);
    return status;
}

size_t handle_table_count(void) {
    pthread_mutex_lock(&table_lock);
    size_t n = live;
    pthread_mutex_unlock(&table_lock);
    return n;
}
