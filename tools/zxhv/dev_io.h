// zxhv run: the IO port bus. One IO trap covers every port (platform.h); each GUEST_IO packet is
// dispatched here to the device that registered the port. Ports nobody registered read as all
// ones and ignore writes, as on a PC bus with nothing behind them; they are counted for --trace.
#ifndef ZXHV_TOOLS_DEV_IO_H_
#define ZXHV_TOOLS_DEV_IO_H_

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define IO_BUS_MAX_DEVICES 16u
#define IO_PORT_COUNT 0x10000u

// A device's window of ports. |in| returns the value of a |size|-byte read (1, 2 or 4) at |port|;
// |out| takes a write. Both may be called on any VCPU thread at once: the device locks itself.
struct io_device {
    const char* name;
    uint16_t base;
    uint16_t count;
    void* ctx;
    uint32_t (*in)(void* ctx, uint16_t port, uint8_t size);
    void (*out)(void* ctx, uint16_t port, uint8_t size, uint32_t value);
};

// Per-port counts of accesses nobody answered (atomic: VCPU threads update them concurrently).
struct io_unknown {
    _Atomic uint32_t reads;
    _Atomic uint32_t writes;
};

// Registration happens before the first VCPU runs; after that the bus is only read.
struct io_bus {
    struct io_device devices[IO_BUS_MAX_DEVICES];
    unsigned count;
    struct io_unknown* unknown;  // IO_PORT_COUNT entries
};

// The low |size| bytes set (1, 2 or 4; 4 or more: all 32 bits): what an empty bus reads.
uint32_t io_size_mask(uint8_t size);

// Prepares an empty bus. Returns -1 if out of memory.
int io_bus_init(struct io_bus* bus);
void io_bus_destroy(struct io_bus* bus);

// Adds |dev| (copied). Returns -1 if the bus is full or the window overlaps another device's.
int io_bus_add(struct io_bus* bus, const struct io_device* dev);

// A read of |size| bytes at |port|: the owning device's answer, or all ones. Never blocks long.
uint32_t io_bus_in(struct io_bus* bus, uint16_t port, uint8_t size);

// A write of |size| bytes of |value| at |port|.
void io_bus_out(struct io_bus* bus, uint16_t port, uint8_t size, uint32_t value);

// The name of the device owning |port|, or NULL.
const char* io_bus_owner(const struct io_bus* bus, uint16_t port);

// Writes one line per port that saw unanswered accesses ("zxhv: trace: unknown port ...").
void io_bus_print_unknown(const struct io_bus* bus, FILE* out);

#endif  // ZXHV_TOOLS_DEV_IO_H_
