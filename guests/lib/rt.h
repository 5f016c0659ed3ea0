// Guest runtime: what every example guest of `zxhv run` shares. The board it runs on is
// tools/zxhv/platform.h: RAM from 0, identity-mapped low 4 GiB (page tables at 0, CR3 = 0), a
// 16550 UART, an exit port, an x2APIC emulated by zxhv (spec §3.7). _start (start.S) sets up a
// stack, the GDT and the IDT, clears .bss and calls main(); main's return value is the exit status.
#ifndef GUESTS_LIB_RT_H_
#define GUESTS_LIB_RT_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

int main(void);

// ---- Output (print.c). The UART is shared by all CPUs: each call prints its text as a whole.

void kputs(const char* s);  // no newline added
// %s %c %d %u %x %p, with l/ll/z lengths, a '0' flag and a width.
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char* fmt, va_list ap);
// Formats into buf (always terminated when size > 0); returns the length written.
size_t ksnprintf(char* buf, size_t size, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Ends the run: zxhv run exits with status & 0xff (platform.h: PLAT_EXIT_PORT).
_Noreturn void guest_exit(int status);
// Prints "panic: ..." and exits with status 1.
_Noreturn void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- Interrupts (interrupt.c). One IDT for all CPUs; _start loads it on the BSP.

struct interrupt_frame {
    uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;  // pushed by isr_common (start.S)
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};

typedef void (*interrupt_handler)(struct interrupt_frame* frame);

// Handlers run with interrupts off. An exception or vector with no handler panics.
void interrupt_register(uint8_t vector, interrupt_handler handler);
void idt_load(void);  // on each CPU; _start does the BSP

// ---- The x2APIC (apic.c), as zxhv emulates it: MSRs 0x800-0x83F, a 1 GHz timer clock
// (one tick is 1 ns times the divider).

uint32_t apic_id(void);
void apic_eoi(void);
void apic_self_ipi(uint8_t vector);
void apic_send_ipi(uint32_t dest, uint8_t vector);  // fixed delivery, physical destination
void apic_send_init(uint32_t dest);
void apic_send_startup(uint32_t dest, uint64_t entry);  // entry: page-aligned, below 1 MiB

// The timer fires |vector|: every |ns| (periodic) or once after |ns| (one-shot), or once when the
// TSC reaches |tsc| (TSC-deadline). Each replaces the previous setting.
void apic_timer_periodic(uint8_t vector, uint64_t ns);
void apic_timer_oneshot(uint8_t vector, uint64_t ns);
void apic_timer_tsc_deadline(uint8_t vector, uint64_t tsc);
void apic_timer_stop(void);
uint32_t apic_timer_current_count(void);

// ---- Application processors (ap_start.c).

// Copies the real-mode trampoline below 1 MiB and sends INIT and STARTUP to x2APIC IDs
// first..last. Each AP that starts loads the GDT and IDT and calls fn(its x2APIC ID) on its own
// stack; if fn returns, the AP halts. IDs must be below SMP_MAX_CPUS.
#define SMP_MAX_CPUS 64u
void smp_start_aps(uint32_t first, uint32_t last, void (*fn)(uint32_t id));

// ---- Spin locks (for data shared between CPUs; interrupts stay as they are).

typedef struct {
    volatile uint8_t locked;
} spinlock_t;

static inline void spin_lock(spinlock_t* l) {
    while (__atomic_test_and_set(&l->locked, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) cpu_relax();
    }
}

static inline void spin_unlock(spinlock_t* l) { __atomic_clear(&l->locked, __ATOMIC_RELEASE); }

// ---- What the compiler may call (string.c).

void* memcpy(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);

#endif  // GUESTS_LIB_RT_H_
