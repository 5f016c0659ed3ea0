// zxhv run: a minimal 8254 PIT (ports 0x40-0x43) and the NMI status/control port 0x61, with no
// IRQ: enough for a guest to calibrate a delay loop (counters count down at 1.193182 MHz of host
// monotonic time; port 0x61 shows channel 2's gate and OUT, as Linux's PIT calibration expects).
#ifndef ZXHV_TOOLS_DEV_PIT_H_
#define ZXHV_TOOLS_DEV_PIT_H_

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev_io.h"

struct pit_channel {
    uint8_t mode;        // 0-5
    uint8_t access;      // 1 low byte, 2 high byte, 3 low then high
    uint32_t reload;     // 1..65536 (a written 0 means 65536)
    int64_t start_ns;    // when counting (re)started; -1: waiting for the count to be written
    bool write_high;     // access 3: the next write is the high byte
    uint8_t write_low;   // access 3: the low byte already written
    bool read_high;      // access 3: the next read is the high byte
    bool latched;        // a latch command froze |latch| for the next read(s)
    uint16_t latch;
};

struct pit {
    pthread_mutex_t mu;  // guards everything below
    struct pit_channel ch[3];
    uint8_t port61;      // bits 0 (channel 2 gate) and 1 (speaker data) as written
    bool refresh;        // bit 4 of port 0x61, toggled on every read
};

// Initializes |p| and registers ports 0x40-0x43 and 0x61 on |bus|. Returns -1 if the bus refuses.
int pit_attach(struct pit* p, struct io_bus* bus);

void pit_destroy(struct pit* p);

#endif  // ZXHV_TOOLS_DEV_PIT_H_
