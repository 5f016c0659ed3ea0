// Guest runtime: output through the 16550 UART and the exit port (tools/zxhv/platform.h).
#include "rt.h"

#define UART_PORT 0x3f8   // PLAT_UART_PORT
#define UART_LSR 5        // line status register
#define UART_LSR_THRE 0x20
#define EXIT_PORT 0xf4    // PLAT_EXIT_PORT

// One CPU prints at a time, and not interrupted on its own CPU, so lines never interleave.
static spinlock_t uart_lock;

static void uart_putc(char c) {
    // zxhv's UART is always ready; a real 16550 would need the wait. Bounded, so a UART that
    // never reports ready still gets the byte.
    for (int i = 0; i < 1000 && !(inb(UART_PORT + UART_LSR) & UART_LSR_THRE); i++) cpu_relax();
    outb(UART_PORT, (uint8_t)c);
}

// Where formatted text goes: the UART, or a buffer.
struct sink {
    char* buf;  // NULL: the UART
    size_t size, len;
};

static void put(struct sink* out, char c) {
    if (out->buf == NULL) {
        uart_putc(c);
    } else if (out->len + 1 < out->size) {
        out->buf[out->len++] = c;
        out->buf[out->len] = '\0';
    }
}

static void put_unsigned(struct sink* out, uint64_t value, unsigned base, int width, char pad) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    for (int i = n; i < width; i++) put(out, pad);
    while (n > 0) put(out, digits[--n]);
}

static void put_string(struct sink* out, const char* s) {
    while (*s) put(out, *s++);
}

static void format(struct sink* out, const char* fmt, va_list ap) {
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(out, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }
        uint64_t u;
        switch (*fmt) {
            case 'd': {
                int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
                if (v < 0) {
                    put(out, '-');
                    u = -(uint64_t)v;
                } else {
                    u = (uint64_t)v;
                }
                put_unsigned(out, u, 10, width, pad);
                break;
            }
            case 'u':
            case 'x':
                u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
                put_unsigned(out, u, *fmt == 'u' ? 10 : 16, width, pad);
                break;
            case 'p':
                put_string(out, "0x");
                put_unsigned(out, (uintptr_t)va_arg(ap, void*), 16, width, pad);
                break;
            case 'c':
                put(out, (char)va_arg(ap, int));
                break;
            case 's': {
                const char* s = va_arg(ap, const char*);
                put_string(out, s ? s : "(null)");
                break;
            }
            case '%':
                put(out, '%');
                break;
            default:  // unknown: print it as written
                put(out, '%');
                if (*fmt == '\0') return;
                put(out, *fmt);
                break;
        }
    }
}

size_t ksnprintf(char* buf, size_t size, const char* fmt, ...) {
    struct sink out = {.buf = buf, .size = size};
    if (size > 0) buf[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    format(&out, fmt, ap);
    va_end(ap);
    return out.len;
}

void kvprintf(const char* fmt, va_list ap) {
    uint64_t flags = irq_save();
    spin_lock(&uart_lock);
    struct sink out = {.buf = NULL};
    format(&out, fmt, ap);
    spin_unlock(&uart_lock);
    irq_restore(flags);
}

void kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}

void kputs(const char* s) { kprintf("%s", s); }

_Noreturn void guest_exit(int status) {
    outb(EXIT_PORT, (uint8_t)status);
    halt_forever();  // the VMM stops every VCPU; nothing runs after the OUT
}

_Noreturn void panic(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kputs("panic: ");
    kvprintf(fmt, ap);
    kputs("\n");
    va_end(ap);
    guest_exit(1);
}
