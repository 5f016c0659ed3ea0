// zxhv run: the 16550A UART (dev_uart.h). Register offsets and bits as in the 16550 data sheet.
#include "dev_uart.h"

#include "platform.h"

enum {
    REG_DATA = 0,  // RBR (read), THR (write); DLL when LCR.DLAB
    REG_IER = 1,   // DLM when LCR.DLAB
    REG_IIR = 2,   // IIR (read), FCR (write)
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_RDI 0x01u   // received data available
#define IER_THRI 0x02u  // transmitter holding register empty
#define IIR_NONE 0x01u
#define IIR_THRI 0x02u
#define IIR_RDI 0x04u
#define IIR_FIFO 0xc0u
#define FCR_ENABLE 0x01u
#define LCR_DLAB 0x80u
#define MCR_LOOP 0x10u
#define LSR_DR 0x01u
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u
#define MSR_CTS 0x10u
#define MSR_DSR 0x20u
#define MSR_RI 0x40u
#define MSR_DCD 0x80u

static bool data_ready(struct uart* u) {
    return (u->mcr & MCR_LOOP) ? u->loop_ready : term_input_ready(u->term);
}

// Modem status: in loopback the outputs DTR, RTS, OUT1, OUT2 come back as DSR, CTS, RI, DCD
// (Linux's probe checks this); otherwise a modem that is always there.
static uint8_t modem_status(const struct uart* u) {
    if (!(u->mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    uint8_t msr = 0;
    if (u->mcr & 0x01)
        msr |= MSR_DSR;
    if (u->mcr & 0x02)
        msr |= MSR_CTS;
    if (u->mcr & 0x04)
        msr |= MSR_RI;
    if (u->mcr & 0x08)
        msr |= MSR_DCD;
    return msr;
}

// IIR: what an interrupt would report, highest priority first. No IRQ is raised; reading the
// register clears a reported THR-empty condition, as on the chip.
static uint8_t read_iir(struct uart* u) {
    uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
    if ((u->ier & IER_RDI) && data_ready(u))
        return fifo | IIR_RDI;
    if ((u->ier & IER_THRI) && u->thre_pending) {
        u->thre_pending = false;
        return fifo | IIR_THRI;
    }
    return fifo | IIR_NONE;
}

static uint8_t read_data(struct uart* u) {
    if (u->mcr & MCR_LOOP) {
        u->loop_ready = false;
        return u->loop_byte;
    }
    uint8_t b = 0;
    term_read(u->term, &b, 1);
    return b;
}

static uint32_t uart_in(void* ctx, uint16_t port, uint8_t size) {
    (void)size;  // a byte-wide device: wider reads see the byte at |port|
    struct uart* u = ctx;
    uint8_t v = 0xff;
    pthread_mutex_lock(&u->mu);
    switch (port - PLAT_UART_PORT) {
    case REG_DATA:
        v = (u->lcr & LCR_DLAB) ? u->dll : read_data(u);
        break;
    case REG_IER:
        v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
        break;
    case REG_IIR:
        v = read_iir(u);
        break;
    case REG_LCR:
        v = u->lcr;
        break;
    case REG_MCR:
        v = u->mcr;
        break;
    case REG_LSR:
        v = LSR_THRE | LSR_TEMT | (data_ready(u) ? LSR_DR : 0);
        break;
    case REG_MSR:
        v = modem_status(u);
        break;
    case REG_SCR:
        v = u->scr;
        break;
    }
    pthread_mutex_unlock(&u->mu);
    return v;
}

static void write_data(struct uart* u, uint8_t b) {
    if (u->mcr & MCR_LOOP) {
        u->loop_byte = b;
        u->loop_ready = true;
    } else {
        term_write(u->term, &b, 1);
    }
    // The byte leaves at once, so the holding register is empty again.
    u->thre_pending = true;
}

static void uart_out(void* ctx, uint16_t port, uint8_t size, uint32_t value) {
    (void)size;
    struct uart* u = ctx;
    uint8_t v = (uint8_t)value;
    pthread_mutex_lock(&u->mu);
    switch (port - PLAT_UART_PORT) {
    case REG_DATA:
        if (u->lcr & LCR_DLAB)
            u->dll = v;
        else
            write_data(u, v);
        break;
    case REG_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
        } else {
            if ((v & IER_THRI) && !(u->ier & IER_THRI))
                u->thre_pending = true;
            u->ier = v & 0x0f;
        }
        break;
    case REG_IIR:
        u->fcr = v & 0xc9;  // enable, DMA mode, trigger level; the reset bits do not stick
        break;
    case REG_LCR:
        u->lcr = v;
        break;
    case REG_MCR:
        u->mcr = v & 0x1f;
        break;
    case REG_SCR:
        u->scr = v;
        break;
    default:  // LSR and MSR are read-only
        break;
    }
    pthread_mutex_unlock(&u->mu);
}

int uart_attach(struct uart* u, struct term* term, struct io_bus* bus) {
    *u = (struct uart){.term = term, .dll = 1, .lcr = 0x03};  // 115200 baud, 8N1
    pthread_mutex_init(&u->mu, NULL);
    struct io_device dev = {
        .name = "uart", .base = PLAT_UART_PORT, .count = 8, .ctx = u, .in = uart_in, .out = uart_out};
    return io_bus_add(bus, &dev);
}

void uart_destroy(struct uart* u) { pthread_mutex_destroy(&u->mu); }
