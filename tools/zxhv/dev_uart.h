// zxhv run: a 16550A UART at PLAT_UART_PORT (8 ports), without an IRQ line. THR writes go to the
// host terminal, RBR reads take stdin bytes, LSR always reports the transmitter empty and reports
// data ready when stdin has a byte. The other registers hold what the guest writes, enough for
// Linux's 8250 probe (scratch register, FIFO bits in IIR, loopback MSR).
#ifndef ZXHV_TOOLS_DEV_UART_H_
#define ZXHV_TOOLS_DEV_UART_H_

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev_io.h"
#include "dev_term.h"

struct uart {
    pthread_mutex_t mu;  // guards the registers (VCPU threads access them concurrently)
    struct term* term;
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending;  // a THR-empty condition not yet reported through IIR
    bool loop_ready;    // loopback mode: a byte written to THR waits in loop_byte
    uint8_t loop_byte;
};

// Initializes |u| on |term| and registers its ports on |bus|. Returns -1 if the bus refuses.
int uart_attach(struct uart* u, struct term* term, struct io_bus* bus);

void uart_destroy(struct uart* u);

#endif  // ZXHV_TOOLS_DEV_UART_H_
