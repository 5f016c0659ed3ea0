// zxhv: the doorbell fast path.
#include "hv/bell_fast.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zircon/errors.h>

#include "arch/x86/kvm.h"
#include "util/deadline.h"

struct bell_fast {
    struct bell_fast* next;  // set before the entry is published, then fixed
    struct trap* trap;       // a reference
    uint64_t addr;
    uint32_t size;
    bool coalesce;
    int fd;       // the ioeventfd KVM counts writes in (non-blocking)
    int stop_fd;  // an eventfd that tells the thread to stop
    atomic_bool stop;
    pthread_t thread;
    // Serialises turning counts into packets (the thread and bell_fast_flush), and guards |owed|.
    pthread_mutex_t lock;
    uint64_t owed;  // writes counted but not yet queued
};

// Serialises bell_fast_add, so that two callers cannot both add a fast path at one address.
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;

// Moves the eventfd's count into |owed| and queues one packet per write (one in all when
// coalescing). Called with fp->lock held; may block while the trap is full, until |*cancel|.
static zx_status_t deliver(struct bell_fast* fp, const atomic_bool* cancel) {
    uint64_t n;
    if (read(fp->fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
        fp->owed = fp->owed > UINT64_MAX - n ? UINT64_MAX : fp->owed + n;
    }
    if (fp->coalesce && fp->owed > 1) fp->owed = 1;
    while (fp->owed > 0) {
        zx_status_t status = trap_queue_bell(fp->trap, fp->addr, cancel);
        if (status == ZX_ERR_CANCELED) return status;
        if (status != ZX_OK) {
            // The port refused (every handle closed, or 2048 packets queued) or no memory: as for
            // a doorbell taken through an exit, the writes are dropped (host-differences §5.9).
            fp->owed = 0;
            return status;
        }
        fp->owed--;
    }
    return ZX_OK;
}

static void* pump(void* arg) {
    struct bell_fast* fp = arg;
    struct pollfd fds[2] = {{.fd = fp->fd, .events = POLLIN}, {.fd = fp->stop_fd, .events = POLLIN}};
    while (!atomic_load(&fp->stop)) {
        if (poll(fds, 2, -1) < 0) continue;  // EINTR: the VMM's signals may land here
        if (fds[0].revents & POLLIN) {
            pthread_mutex_lock(&fp->lock);
            deliver(fp, &fp->stop);
            pthread_mutex_unlock(&fp->lock);
        }
    }
    // KVM counts no more writes: queue what was counted, as far as the trap has room.
    pthread_mutex_lock(&fp->lock);
    deliver(fp, &fp->stop);
    pthread_mutex_unlock(&fp->lock);
    return NULL;
}

static void bell_fast_free(struct bell_fast* fp) {
    if (fp->fd >= 0) close(fp->fd);
    if (fp->stop_fd >= 0) close(fp->stop_fd);
    pthread_mutex_destroy(&fp->lock);
    trap_unref(fp->trap);
    free(fp);
}

zx_status_t bell_fast_add(struct trap_map* map, int vm_fd, uint64_t addr, uint32_t size,
                          bool coalesce) {
    struct trap* trap;
    if (trap_map_find(map, false, addr, &trap) != ZX_OK) return ZX_ERR_NOT_FOUND;
    if (trap->kind != ZX_GUEST_TRAP_BELL || addr - trap->addr + size > trap->len) {
        trap_unref(trap);
        return ZX_ERR_NOT_FOUND;
    }
    struct bell_fast* fp = calloc(1, sizeof(*fp));
    if (fp == NULL) {
        trap_unref(trap);
        return ZX_ERR_NO_MEMORY;
    }
    fp->trap = trap;
    fp->addr = addr;
    fp->size = size;
    fp->coalesce = coalesce;
    atomic_init(&fp->stop, false);
    pthread_mutex_init(&fp->lock, NULL);
    fp->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fp->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (fp->fd < 0 || fp->stop_fd < 0) {
        bell_fast_free(fp);
        return ZX_ERR_NO_RESOURCES;
    }

    pthread_mutex_lock(&add_lock);
    zx_status_t status = ZX_OK;
    for (struct bell_fast* other = atomic_load(&trap->fast); other != NULL; other = other->next) {
        if (other->addr == addr) status = ZX_ERR_ALREADY_EXISTS;
    }
    if (status == ZX_OK) status = kvm_vm_ioeventfd(vm_fd, addr, size, fp->fd, true);
    if (status == ZX_OK && pthread_create(&fp->thread, NULL, pump, fp) != 0) {
        kvm_vm_ioeventfd(vm_fd, addr, size, fp->fd, false);
        status = ZX_ERR_NO_RESOURCES;
    }
    if (status == ZX_OK) {
        fp->next = atomic_load(&trap->fast);
        atomic_store_explicit(&trap->fast, fp, memory_order_release);
    }
    pthread_mutex_unlock(&add_lock);
    if (status != ZX_OK) bell_fast_free(fp);
    return status;
}

zx_status_t bell_fast_flush(struct trap* trap, const atomic_bool* cancel) {
    for (struct bell_fast* fp = atomic_load_explicit(&trap->fast, memory_order_acquire); fp != NULL;
         fp = fp->next) {
        // The thread may hold the lock while it waits for room in the trap; notice a kick.
        for (;;) {
            struct timespec deadline = deadline_after_ms(CLOCK_REALTIME, 20);
            if (pthread_mutex_timedlock(&fp->lock, &deadline) == 0) break;
            if (atomic_load(cancel)) return ZX_ERR_CANCELED;
        }
        zx_status_t status = deliver(fp, cancel);
        pthread_mutex_unlock(&fp->lock);
        if (status == ZX_ERR_CANCELED) return status;
    }
    return ZX_OK;
}

static void stop_trap(struct trap* trap, int vm_fd) {
    struct bell_fast* fp = atomic_exchange(&trap->fast, NULL);
    while (fp != NULL) {
        struct bell_fast* next = fp->next;
        kvm_vm_ioeventfd(vm_fd, fp->addr, fp->size, fp->fd, false);
        atomic_store(&fp->stop, true);
        uint64_t one = 1;
        while (write(fp->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
        }
        pthread_join(fp->thread, NULL);
        bell_fast_free(fp);
        fp = next;
    }
}

void bell_fast_stop_all(struct trap_map* map, int vm_fd) {
    pthread_mutex_lock(&map->lock);
    for (size_t i = 0; i < map->mem.count; i++) stop_trap(map->mem.traps[i], vm_fd);
    pthread_mutex_unlock(&map->lock);
}
