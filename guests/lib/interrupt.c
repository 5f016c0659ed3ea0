// Guest runtime: the IDT and the dispatch of every vector to its registered handler.
#include "rt.h"

#define KERNEL_CS 0x08
#define GATE_INTERRUPT 0x8e  // present, DPL 0, 64-bit interrupt gate (IF cleared on entry)
#define STUB_SIZE 16         // start.S: one stub per vector

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

struct idt_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern const uint8_t isr_stubs[];  // start.S

static struct idt_gate idt[256];
static interrupt_handler handlers[256];

static const char* const exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", NULL, "invalid TSS", "segment not present",
    "stack fault", "general protection", "page fault", NULL, "x87 error", "alignment check",
    "machine check", "SIMD error", "virtualization", "control protection",
};

void interrupt_register(uint8_t vector, interrupt_handler handler) {
    __atomic_store_n(&handlers[vector], handler, __ATOMIC_RELEASE);
}

// Fills the table the first time (the BSP, from _start) and loads it.
void idt_load(void) {
    if (idt[0].type == 0) {
        for (unsigned v = 0; v < 256; v++) {
            uint64_t stub = (uint64_t)(uintptr_t)&isr_stubs[v * STUB_SIZE];
            idt[v] = (struct idt_gate){
                .offset_low = (uint16_t)stub,
                .selector = KERNEL_CS,
                .type = GATE_INTERRUPT,
                .offset_mid = (uint16_t)(stub >> 16),
                .offset_high = (uint32_t)(stub >> 32),
            };
        }
    }
    struct idt_pointer p = {.limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(p));
}

// Called by isr_common (start.S) with interrupts off.
void interrupt_dispatch(struct interrupt_frame* frame);
void interrupt_dispatch(struct interrupt_frame* frame) {
    interrupt_handler h = __atomic_load_n(&handlers[frame->vector & 0xff], __ATOMIC_ACQUIRE);
    if (h != NULL) {
        h(frame);
        return;
    }
    if (frame->vector < 32) {
        const char* name = exception_names[frame->vector];
        uint64_t cr2 = 0;
        if (frame->vector == 14) __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        panic("CPU %u: exception %lu (%s), error code 0x%lx, at rip 0x%lx, cr2 0x%lx", apic_id(),
              frame->vector, name ? name : "reserved", frame->error, frame->rip, cr2);
    }
    panic("CPU %u: unexpected interrupt, vector %lu", apic_id(), frame->vector);
}
