// zxhv run: the exit device (dev_exit.h).
#include "dev_exit.h"

#include "platform.h"

static void exit_out(void* ctx, uint16_t port, uint8_t size, uint32_t value) {
    (void)port;
    (void)size;
    struct exit_dev* e = ctx;
    e->on_exit(e->ctx, (uint8_t)(value & 0xff));
}

int exit_dev_attach(struct exit_dev* e, void (*on_exit)(void* ctx, uint8_t status), void* ctx,
                    struct io_bus* bus) {
    e->on_exit = on_exit;
    e->ctx = ctx;
    struct io_device dev = {
        .name = "exit", .base = PLAT_EXIT_PORT, .count = 1, .ctx = e, .in = NULL, .out = exit_out};
    return io_bus_add(bus, &dev);
}
