// zxhv run: the other PC ports a booting OS probes, answered as absent or minimal devices:
//   PIC 0x20-0x21, 0xa0-0xa1  absent (reads all ones, so Linux's probe finds no 8259)
//   CMOS/RTC 0x70-0x71        index and data; the clock reads the host's UTC time (BCD, 24 h)
//   PCI 0xcf8-0xcff           config address register kept; no devices (data reads all ones);
//                             a byte write with bit 2 set to 0xcf9 is a reset request
//   i8042 0x60, 0x64          reads 0 (status: empty buffers) and never answers a command, so
//                             drivers give up; command 0xfe to 0x64 is a reset request
//   0x80                      POST/delay port: ignored
// A reset request ends the run (the board cannot reset), through |on_reset|.
#ifndef ZXHV_TOOLS_DEV_LEGACY_H_
#define ZXHV_TOOLS_DEV_LEGACY_H_

#include <pthread.h>
#include <stdint.h>

#include "dev_io.h"

struct legacy {
    pthread_mutex_t mu;  // guards everything below
    uint8_t cmos_index;
    uint8_t cmos[128];  // CMOS RAM outside the clock registers, as written
    uint32_t pci_address;
    // Called on the VCPU thread that asked for a reset.
    void (*on_reset)(void* ctx);
    void* ctx;
};

// Initializes |l| and registers its ports on |bus|. Returns -1 if the bus refuses.
int legacy_attach(struct legacy* l, void (*on_reset)(void* ctx), void* ctx, struct io_bus* bus);

void legacy_destroy(struct legacy* l);

#endif  // ZXHV_TOOLS_DEV_LEGACY_H_
