// zxhv bench: the parts with no KVM in them, against the plain Linux primitive a VMM would use
// instead: a port carrying packets from one thread to another against a mutex + condvar queue of
// the same packets, and a handle duplicated and closed against an fd dup()ed and closed.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/port.h>

#include "bench.h"

// ---- the baseline queue: a ring of packets under a mutex, with a condvar each way; as deep as
// a port (2048 packets), the producer sleeping when it is full.
#define QUEUE_DEPTH 2048

struct packet_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    size_t head, count;
    zx_port_packet_t ring[QUEUE_DEPTH];
};

static void queue_put(struct packet_queue* q, const zx_port_packet_t* p) {
    pthread_mutex_lock(&q->lock);
    while (q->count == QUEUE_DEPTH) pthread_cond_wait(&q->not_full, &q->lock);
    q->ring[(q->head + q->count) % QUEUE_DEPTH] = *p;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static void queue_take(struct packet_queue* q, zx_port_packet_t* p) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0) pthread_cond_wait(&q->not_empty, &q->lock);
    *p = q->ring[q->head];
    q->head = (q->head + 1) % QUEUE_DEPTH;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

struct consumer {
    enum side side;
    struct packet_queue* queue;
    zx_handle_t port;
    int packets;
    sem_t started;
    uint64_t done_tick;
};

static void* consume(void* arg) {
    struct consumer* c = arg;
    sem_post(&c->started);
    uint64_t sum = 0;
    for (int i = 0; i < c->packets; i++) {
        zx_port_packet_t p;
        if (c->side == SIDE_BASE) {
            queue_take(c->queue, &p);
        } else {
            CHECK_ZX(zx_port_wait(c->port, ZX_TIME_INFINITE, &p));
        }
        sum += p.user.u64[0];
    }
    c->done_tick = ticks();
    CHECK(sum == (uint64_t)c->packets * (uint64_t)(c->packets - 1) / 2, "packets lost");
    return NULL;
}

void bench_port(enum side side) {
    static struct packet_queue queue = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .not_empty = PTHREAD_COND_INITIALIZER,
        .not_full = PTHREAD_COND_INITIALIZER,
    };
    zx_handle_t port = ZX_HANDLE_INVALID;
    if (side == SIDE_ZXHV) CHECK_ZX(zx_port_create(0, &port));
    for (int s = 0; s < cfg.port_samples; s++) {
        struct consumer c = {
            .side = side, .queue = &queue, .port = port, .packets = cfg.port_packets};
        sem_init(&c.started, 0, 0);
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, consume, &c) == 0, "pthread_create");
        while (sem_wait(&c.started) != 0) {
        }
        uint64_t t0 = ticks();
        for (int i = 0; i < c.packets; i++) {
            zx_port_packet_t p = {.key = 1, .type = ZX_PKT_TYPE_USER};
            p.user.u64[0] = (uint64_t)i;
            if (side == SIDE_BASE) {
                queue_put(&queue, &p);
            } else {
                zx_status_t status;
                // A full port refuses (ZX_ERR_SHOULD_WAIT); a Zircon producer waits and retries.
                while ((status = zx_port_queue(port, &p)) == ZX_ERR_SHOULD_WAIT) sched_yield();
                CHECK_ZX(status);
            }
        }
        pthread_join(thread, NULL);
        row_add(ROW_PORT, side, (double)(c.done_tick - t0) / c.packets);
        sem_destroy(&c.started);
    }
    if (port != ZX_HANDLE_INVALID) CHECK_ZX(zx_handle_close(port));
}

void bench_handle(enum side side) {
    zx_handle_t port = ZX_HANDLE_INVALID;
    int fd = -1;
    if (side == SIDE_ZXHV) {
        CHECK_ZX(zx_port_create(0, &port));
    } else {
        fd = eventfd(0, EFD_CLOEXEC);
        CHECK_SYS(fd);
    }
    for (int s = 0; s < cfg.handle_samples; s++) {
        uint64_t t0 = ticks();
        for (int i = 0; i < cfg.handle_ops; i++) {
            if (side == SIDE_ZXHV) {
                zx_handle_t dup;
                CHECK_ZX(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &dup));
                CHECK_ZX(zx_handle_close(dup));
            } else {
                int copy = dup(fd);
                CHECK_SYS(copy);
                close(copy);
            }
        }
        row_add(ROW_HANDLE, side, (double)(ticks() - t0) / cfg.handle_ops);
    }
    if (side == SIDE_ZXHV) {
        CHECK_ZX(zx_handle_close(port));
    } else {
        close(fd);
    }
}
