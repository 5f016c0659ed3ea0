// zxhv: port objects.
#include "object/port.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <zircon/errors.h>

#include "util/user_copy.h"

static void release_packet(struct port_packet* p) {
    if (p->release != NULL) {
        p->release(p);
    } else {
        free(p);
    }
}

static void release_all(struct port_packet* p) {
    while (p != NULL) {
        struct port_packet* next = p->next;
        release_packet(p);
        p = next;
    }
}

// As on Zircon, queued packets are dropped once nobody can read them, and later queues fail with
// ZX_ERR_BAD_STATE. Threads already waiting keep waiting until their deadline.
static void port_on_zero_handles(struct object* obj) {
    struct port* port = to_port(obj);
    pthread_mutex_lock(&port->lock);
    port->zero_handles = true;
    struct port_packet* p = port->head;
    port->head = port->tail = NULL;
    port->count = 0;
    pthread_mutex_unlock(&port->lock);
    release_all(p);
}

static void port_destroy(struct object* obj) {
    struct port* port = to_port(obj);
    release_all(port->head);
    pthread_cond_destroy(&port->ready);
    pthread_mutex_destroy(&port->lock);
    free(port);
}

static const struct object_ops port_ops = {
    .type = ZX_OBJ_TYPE_PORT,
    .destroy = port_destroy,
    .on_zero_handles = port_on_zero_handles,
};

zx_status_t port_create(struct port** out) {
    struct port* port = calloc(1, sizeof(*port));
    if (port == NULL) return ZX_ERR_NO_MEMORY;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&port->ready, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&port->lock, NULL);
    object_init(&port->base, &port_ops);
    *out = port;
    return ZX_OK;
}

zx_status_t port_queue(struct port* port, struct port_packet* p) {
    pthread_mutex_lock(&port->lock);
    zx_status_t status = ZX_OK;
    if (port->zero_handles) {
        status = ZX_ERR_BAD_STATE;
    } else if (port->count > PORT_MAX_PENDING) {
        status = ZX_ERR_SHOULD_WAIT;
    } else {
        p->next = NULL;
        if (port->tail != NULL) {
            port->tail->next = p;
        } else {
            port->head = p;
        }
        port->tail = p;
        port->count++;
        pthread_cond_signal(&port->ready);
    }
    pthread_mutex_unlock(&port->lock);
    return status;
}

static struct timespec to_timespec(zx_time_t t) {
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    return ts;
}

static zx_time_t now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (zx_time_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

zx_status_t port_wait(struct port* port, zx_time_t deadline, zx_port_packet_t* user_packet) {
    pthread_mutex_lock(&port->lock);
    struct timespec ts = to_timespec(deadline < 0 ? 0 : deadline);
    while (port->head == NULL) {
        if (deadline == ZX_TIME_INFINITE) {
            pthread_cond_wait(&port->ready, &port->lock);
            continue;
        }
        if (deadline <= now()) break;
        pthread_cond_timedwait(&port->ready, &port->lock, &ts);
    }
    struct port_packet* p = port->head;
    if (p == NULL) {
        pthread_mutex_unlock(&port->lock);
        return ZX_ERR_TIMED_OUT;
    }
    port->head = p->next;
    if (port->head == NULL) port->tail = NULL;
    port->count--;
    pthread_mutex_unlock(&port->lock);

    zx_status_t status = user_copy_out(user_packet, &p->packet, sizeof(p->packet));
    if (status != ZX_OK) {
        // Put it back where it was: a packet the port accepted is never lost.
        pthread_mutex_lock(&port->lock);
        p->next = port->head;
        port->head = p;
        if (port->tail == NULL) port->tail = p;
        port->count++;
        pthread_cond_signal(&port->ready);
        pthread_mutex_unlock(&port->lock);
        return status;
    }
    release_packet(p);
    return ZX_OK;
}
