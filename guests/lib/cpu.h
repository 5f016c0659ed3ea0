// Guest runtime: single x86-64 instructions the guests need, as inline functions.
#ifndef GUESTS_LIB_CPU_H_
#define GUESTS_LIB_CPU_H_

#include <stdbool.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                     : "memory");
}

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

// 32-bit MMIO, always one plain MOV with a register operand, so that the VMM's instruction
// decoder sees the simplest form.
static inline uint32_t mmio_read32(uintptr_t addr) {
    uint32_t value;
    __asm__ volatile("movl (%1), %0" : "=r"(value) : "r"(addr) : "memory");
    return value;
}

static inline void mmio_write32(uintptr_t addr, uint32_t value) {
    __asm__ volatile("movl %0, (%1)" : : "r"(value), "r"(addr) : "memory");
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }

// Interrupts on for exactly one HLT: STI's one-instruction shadow means an interrupt that is
// already pending is taken after HLT starts, so it cannot be missed between a check and the HLT.
// Returns with interrupts off again.
static inline void wait_for_interrupt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

static inline uint64_t irq_save(void) {
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

static inline void irq_restore(uint64_t flags) {
    if (flags & (1u << 9)) __asm__ volatile("sti" ::: "memory");
}

static inline _Noreturn void halt_forever(void) {
    for (;;) __asm__ volatile("cli; hlt");
}

#endif  // GUESTS_LIB_CPU_H_
