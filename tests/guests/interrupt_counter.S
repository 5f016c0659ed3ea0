// A 64-bit guest that counts interrupts: every vector from 32 to 47 increments the quadword at
// COUNTER and returns. With MODE = 0 it waits in HLT, otherwise it spins, so an interrupt finds
// it halted or running. Copied to ENTRY and started with CR3 = 0 (identity map built by the test).
#define ENTRY 0x10000
#define STACK_TOP 0x20000
#define COUNTER 0x30000
#define MODE 0x30008
#define ABS(x) ((x) - interrupt_counter_start + ENTRY)

.text
.code64
.global interrupt_counter_start
.global interrupt_counter_end
interrupt_counter_start:
    lgdt gdtr(%rip)
    lidt idtr(%rip)
    mov $STACK_TOP, %rsp
    // Load a real code selector: the VCPU starts with selector 0, which IRETQ cannot return to.
    pushq $0x08
    lea 1f(%rip), %rax
    pushq %rax
    lretq
1:
    sti
    cmpq $0, MODE
    jne spin
halted:
    hlt
    jmp halted
spin:
    pause
    jmp spin

handler:
    lock incq COUNTER
    iretq

.balign 8
gdt:
    .quad 0
    .quad 0x00af9a000000ffff  // 0x08: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff  // 0x10: data
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .quad ABS(gdt)

.balign 8
idtr:
    .word idt_end - idt - 1
    .quad ABS(idt)

// 48 gates; only 32-47 point at the handler (0-31 stay absent, so an exception triple-faults
// and the test sees ZX_ERR_NOT_SUPPORTED instead of a silent miscount).
.balign 16
idt:
    .fill 32 * 16, 1, 0
    .rept 16
    .word ABS(handler) & 0xffff
    .word 0x08
    .byte 0, 0x8e
    .word (ABS(handler) >> 16) & 0xffff
    .long 0
    .long 0
    .endr
idt_end:
interrupt_counter_end:

.section .note.GNU-stack,"",@progbits
