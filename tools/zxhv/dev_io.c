// zxhv run: the IO port bus (dev_io.h).
#include "dev_io.h"

#include <stdlib.h>

int io_bus_init(struct io_bus* bus) {
    bus->count = 0;
    bus->unknown = calloc(IO_PORT_COUNT, sizeof(*bus->unknown));
    return bus->unknown ? 0 : -1;
}

void io_bus_destroy(struct io_bus* bus) {
    free(bus->unknown);
    bus->unknown = NULL;
    bus->count = 0;
}

int io_bus_add(struct io_bus* bus, const struct io_device* dev) {
    if (bus->count == IO_BUS_MAX_DEVICES || dev->count == 0 ||
        (uint32_t)dev->base + dev->count > IO_PORT_COUNT)
        return -1;
    for (unsigned i = 0; i < bus->count; i++) {
        const struct io_device* d = &bus->devices[i];
        if (dev->base < d->base + d->count && d->base < dev->base + dev->count)
            return -1;
    }
    bus->devices[bus->count++] = *dev;
    return 0;
}

static const struct io_device* find(const struct io_bus* bus, uint16_t port) {
    for (unsigned i = 0; i < bus->count; i++) {
        const struct io_device* d = &bus->devices[i];
        if (port >= d->base && port - d->base < d->count)
            return d;
    }
    return NULL;
}

uint32_t io_size_mask(uint8_t size) {
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

uint32_t io_bus_in(struct io_bus* bus, uint16_t port, uint8_t size) {
    const struct io_device* d = find(bus, port);
    if (d && d->in)
        return d->in(d->ctx, port, size) & io_size_mask(size);
    if (!d)
        atomic_fetch_add_explicit(&bus->unknown[port].reads, 1, memory_order_relaxed);
    return io_size_mask(size);
}

void io_bus_out(struct io_bus* bus, uint16_t port, uint8_t size, uint32_t value) {
    const struct io_device* d = find(bus, port);
    if (d && d->out)
        d->out(d->ctx, port, size, value & io_size_mask(size));
    else if (!d)
        atomic_fetch_add_explicit(&bus->unknown[port].writes, 1, memory_order_relaxed);
}

const char* io_bus_owner(const struct io_bus* bus, uint16_t port) {
    const struct io_device* d = find(bus, port);
    return d ? d->name : NULL;
}

void io_bus_print_unknown(const struct io_bus* bus, FILE* out) {
    if (!bus->unknown)
        return;
    for (uint32_t port = 0; port < IO_PORT_COUNT; port++) {
        uint32_t r = atomic_load_explicit(&bus->unknown[port].reads, memory_order_relaxed);
        uint32_t w = atomic_load_explicit(&bus->unknown[port].writes, memory_order_relaxed);
        if (r || w)
            fprintf(out, "zxhv: trace: unknown port 0x%x: %u reads, %u writes\n", port, r, w);
    }
}
