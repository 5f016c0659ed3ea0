// zxhv run: absent and minimal PC devices (dev_legacy.h).
#include "dev_legacy.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#define PORT_PIC1 0x20u
#define PORT_PIC2 0xa0u
#define PORT_I8042_DATA 0x60u
#define PORT_I8042_CMD 0x64u
#define PORT_CMOS 0x70u
#define PORT_POST 0x80u
#define PORT_PCI 0xcf8u
#define PORT_PCI_RESET 0xcf9u

#define I8042_CMD_RESET 0xfeu
#define PCI_RESET_CPU 0x04u

// MC146818 registers.
enum {
    RTC_SECONDS = 0x00,
    RTC_MINUTES = 0x02,
    RTC_HOURS = 0x04,
    RTC_WEEKDAY = 0x06,
    RTC_DAY = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09,
    RTC_STATUS_A = 0x0a,
    RTC_STATUS_B = 0x0b,
    RTC_STATUS_C = 0x0c,
    RTC_STATUS_D = 0x0d,
    RTC_CENTURY = 0x32,
};

static uint8_t bcd(int v) { return (uint8_t)(((v / 10) % 10) << 4 | (v % 10)); }

// A CMOS register: the clock from the host's UTC time (status B says BCD and 24-hour), fixed
// status registers (no update in progress, battery good), RAM for the rest.
static uint8_t cmos_read(struct legacy* l, uint8_t index) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    switch (index) {
    case RTC_SECONDS:
        return bcd(tm.tm_sec);
    case RTC_MINUTES:
        return bcd(tm.tm_min);
    case RTC_HOURS:
        return bcd(tm.tm_hour);
    case RTC_WEEKDAY:
        return bcd(tm.tm_wday + 1);
    case RTC_DAY:
        return bcd(tm.tm_mday);
    case RTC_MONTH:
        return bcd(tm.tm_mon + 1);
    case RTC_YEAR:
        return bcd(tm.tm_year % 100);
    case RTC_CENTURY:
        return bcd(19 + tm.tm_year / 100);
    case RTC_STATUS_A:
        return 0x26;  // 32.768 kHz time base, 1024 Hz rate, UIP clear
    case RTC_STATUS_B:
        return 0x02;  // 24-hour, BCD, no interrupts
    case RTC_STATUS_C:
        return 0x00;
    case RTC_STATUS_D:
        return 0x80;  // valid RAM and time
    default:
        return l->cmos[index & 0x7f];
    }
}

static uint32_t legacy_in(void* ctx, uint16_t port, uint8_t size) {
    struct legacy* l = ctx;
    uint32_t v = 0xffffffffu;
    pthread_mutex_lock(&l->mu);
    if (port == PORT_I8042_DATA || port == PORT_I8042_CMD) {
        v = 0;  // status: no byte to read, room to write (so a reset command goes out at once)
    } else if (port == PORT_CMOS + 1) {
        v = cmos_read(l, l->cmos_index);
    } else if (port == PORT_CMOS) {
        v = l->cmos_index;
    } else if (port >= PORT_PCI && port < PORT_PCI + 4) {
        if (port == PORT_PCI_RESET && size == 1)
            v = 0;
        else
            v = l->pci_address >> (8 * (port - PORT_PCI));
    }
    pthread_mutex_unlock(&l->mu);
    return v;
}

static void legacy_out(void* ctx, uint16_t port, uint8_t size, uint32_t value) {
    struct legacy* l = ctx;
    bool reset = false;
    pthread_mutex_lock(&l->mu);
    if (port == PORT_CMOS) {
        l->cmos_index = (uint8_t)(value & 0x7f);  // bit 7 masks NMIs: nothing to mask here
    } else if (port == PORT_CMOS + 1) {
        if (l->cmos_index > RTC_STATUS_D && l->cmos_index != RTC_CENTURY)
            l->cmos[l->cmos_index] = (uint8_t)value;  // the clock itself is the host's
    } else if (port == PORT_PCI_RESET && size == 1) {
        reset = (value & PCI_RESET_CPU) != 0;
    } else if (port >= PORT_PCI && port < PORT_PCI + 4) {
        unsigned shift = 8 * (port - PORT_PCI);
        uint64_t mask = (uint64_t)io_size_mask(size) << shift;
        l->pci_address = (uint32_t)((l->pci_address & ~mask) | (((uint64_t)value << shift) & mask));
    } else if (port == PORT_I8042_CMD) {
        reset = (value & 0xff) == I8042_CMD_RESET;
    }
    pthread_mutex_unlock(&l->mu);
    if (reset && l->on_reset)
        l->on_reset(l->ctx);
}

int legacy_attach(struct legacy* l, void (*on_reset)(void* ctx), void* ctx, struct io_bus* bus) {
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    l->on_reset = on_reset;
    l->ctx = ctx;
    // Absent devices: no handlers, so reads give all ones and writes vanish (but are not
    // counted as unknown ports).
    const struct io_device devices[] = {
        {.name = "pic1", .base = PORT_PIC1, .count = 2},
        {.name = "pic2", .base = PORT_PIC2, .count = 2},
        {.name = "post", .base = PORT_POST, .count = 1},
        {.name = "i8042", .base = PORT_I8042_DATA, .count = 1, .ctx = l, .in = legacy_in},
        {.name = "i8042", .base = PORT_I8042_CMD, .count = 1, .ctx = l, .in = legacy_in,
         .out = legacy_out},
        {.name = "cmos", .base = PORT_CMOS, .count = 2, .ctx = l, .in = legacy_in, .out = legacy_out},
        {.name = "pci", .base = PORT_PCI, .count = 4, .ctx = l, .in = legacy_in, .out = legacy_out},
        {.name = "pci-data", .base = PORT_PCI + 4, .count = 4},
    };
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
        if (io_bus_add(bus, &devices[i]) != 0)
            return -1;
    return 0;
}

void legacy_destroy(struct legacy* l) { pthread_mutex_destroy(&l->mu); }
