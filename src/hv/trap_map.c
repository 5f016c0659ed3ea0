// zxhv: trap map and BELL packet delivery.
#include "hv/trap_map.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zircon/errors.h>

#include "util/deadline.h"

void trap_map_init(struct trap_map* map) {
    pthread_mutex_init(&map->lock, NULL);
    memset(&map->mem, 0, sizeof(map->mem));
    memset(&map->io, 0, sizeof(map->io));
}

void trap_unref(struct trap* trap) {
    if (atomic_fetch_sub_explicit(&trap->refs, 1, memory_order_acq_rel) != 1) return;
    if (trap->port != NULL) object_unref(&trap->port->base);
    pthread_cond_destroy(&trap->freed);
    pthread_mutex_destroy(&trap->lock);
    free(trap);
}

static void list_destroy(struct trap_list* list) {
    for (size_t i = 0; i < list->count; i++) trap_unref(list->traps[i]);
    free(list->traps);
    memset(list, 0, sizeof(*list));
}

void trap_map_destroy(struct trap_map* map) {
    list_destroy(&map->mem);
    list_destroy(&map->io);
    pthread_mutex_destroy(&map->lock);
}

// Index of the first trap whose start is > addr.
static size_t upper_bound(const struct trap_list* list, uint64_t addr) {
    size_t lo = 0, hi = list->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (list->traps[mid]->addr <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

zx_status_t trap_map_insert(struct trap_map* map, zx_guest_trap_t kind, uint64_t addr,
                            uint64_t len, struct port* port, uint64_t key) {
    struct trap* trap = calloc(1, sizeof(*trap));
    if (trap == NULL) return ZX_ERR_NO_MEMORY;
    atomic_init(&trap->refs, 1);
    trap->kind = kind;
    trap->addr = addr;
    trap->len = len;
    trap->key = key;
    pthread_mutex_init(&trap->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&trap->freed, &attr);
    pthread_condattr_destroy(&attr);

    struct trap_list* list = kind == ZX_GUEST_TRAP_IO ? &map->io : &map->mem;
    pthread_mutex_lock(&map->lock);
    size_t at = upper_bound(list, addr);
    zx_status_t status = ZX_OK;
    if (at > 0 && list->traps[at - 1]->addr == addr) {
        // Only an identical start address is a duplicate (spec §1.2 step 7, §3.3).
        status = ZX_ERR_ALREADY_EXISTS;
    } else if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 8;
        struct trap** grown = realloc(list->traps, capacity * sizeof(*grown));
        if (grown == NULL) {
            status = ZX_ERR_NO_MEMORY;
        } else {
            list->traps = grown;
            list->capacity = capacity;
        }
    }
    if (status == ZX_OK) {
        memmove(&list->traps[at + 1], &list->traps[at], (list->count - at) * sizeof(*list->traps));
        list->traps[at] = trap;
        list->count++;
        if (port != NULL) {
            object_ref(&port->base);
            trap->port = port;
        }
    }
    pthread_mutex_unlock(&map->lock);
    if (status != ZX_OK) trap_unref(trap);
    return status;
}

zx_status_t trap_map_find(struct trap_map* map, bool io, uint64_t addr, struct trap** out) {
    struct trap_list* list = io ? &map->io : &map->mem;
    zx_status_t status = ZX_ERR_NOT_FOUND;
    pthread_mutex_lock(&map->lock);
    size_t at = upper_bound(list, addr);
    if (at > 0) {
        struct trap* trap = list->traps[at - 1];
        if (addr - trap->addr < trap->len) {
            atomic_fetch_add_explicit(&trap->refs, 1, memory_order_relaxed);
            *out = trap;
            status = ZX_OK;
        }
    }
    pthread_mutex_unlock(&map->lock);
    return status;
}

// A BELL packet remembers its trap so that reading it frees a slot.
struct bell_packet {
    struct port_packet base;  // first: the port frees it through base.release
    struct trap* trap;
};

static void bell_packet_release(struct port_packet* p) {
    struct bell_packet* bell = (struct bell_packet*)p;
    struct trap* trap = bell->trap;
    pthread_mutex_lock(&trap->lock);
    trap->in_flight--;
    pthread_cond_signal(&trap->freed);
    pthread_mutex_unlock(&trap->lock);
    free(bell);
    trap_unref(trap);
}

zx_status_t trap_queue_bell(struct trap* trap, uint64_t gpa, const atomic_bool* cancel) {
    pthread_mutex_lock(&trap->lock);
    while (trap->in_flight >= TRAP_MAX_PACKETS) {
        if (atomic_load(cancel)) {
            pthread_mutex_unlock(&trap->lock);
            return ZX_ERR_CANCELED;
        }
        // Wake up now and then to notice a kick: the kicker does not know this condition.
        struct timespec deadline = deadline_after_ms(CLOCK_MONOTONIC, 20);
        pthread_cond_timedwait(&trap->freed, &trap->lock, &deadline);
    }
    trap->in_flight++;
    pthread_mutex_unlock(&trap->lock);

    struct bell_packet* bell = calloc(1, sizeof(*bell));
    zx_status_t status = ZX_ERR_NO_MEMORY;
    if (bell != NULL) {
        atomic_fetch_add_explicit(&trap->refs, 1, memory_order_relaxed);
        bell->trap = trap;
        bell->base.release = bell_packet_release;
        bell->base.packet.key = trap->key;
        bell->base.packet.type = ZX_PKT_TYPE_GUEST_BELL;
        bell->base.packet.guest_bell.addr = gpa;
        status = port_queue(trap->port, &bell->base);
        if (status == ZX_OK) return ZX_OK;
        free(bell);
        trap_unref(trap);
    }
    pthread_mutex_lock(&trap->lock);
    trap->in_flight--;
    pthread_cond_signal(&trap->freed);
    pthread_mutex_unlock(&trap->lock);
    return status;
}
