// zxhv bench: the guest programs, one blob copied to GUEST_CODE by both VMMs. Each starts in
// 64-bit mode with CR3 = 0 (the identity map the VMM writes), and entry points are offsets into
// the blob (guest_entry() in bench.h).
#include "layout.h"

#define ABS(x) ((x) - guest_blob_start + GUEST_CODE)

.section .rodata.bench_guest, "a"
.code64
.balign 16
.global guest_blob_start, guest_blob_end
.global guest_io_loop, guest_exit_now, guest_mem_write_loop, guest_mem_read_loop
.global guest_bell_burst, guest_bell_pingpong, guest_irq, guest_idle

guest_blob_start:

// IO round trip: OUT to IO_PORT, forever.
guest_io_loop:
    out %al, $IO_PORT
    jmp guest_io_loop

// The first exit of a new guest.
guest_exit_now:
    out %al, $EXIT_PORT
    jmp guest_exit_now

// MEM round trip: a 4-byte store to / load from MEM_TRAP_ADDR, forever.
guest_mem_write_loop:
    mov $MEM_TRAP_ADDR, %edi
1:  mov %eax, (%rdi)
    jmp 1b

guest_mem_read_loop:
    mov $MEM_TRAP_ADDR, %edi
1:  mov (%rdi), %eax
    jmp 1b

// BELL throughput: DATA_BURST 8-byte stores to BELL_TRAP_ADDR, each timed with the TSC into
// GUEST_TIMES, then OUT to EXIT_PORT; again on the next resume.
guest_bell_burst:
    mov $BELL_TRAP_ADDR, %edi
1:  mov DATA_BURST, %rcx
    mov $GUEST_TIMES, %esi
2:  lfence
    rdtsc
    shl $32, %rdx
    or %rax, %rdx
    mov %rdx, %r8
    mov %rcx, (%rdi)
    lfence
    rdtsc
    shl $32, %rdx
    or %rax, %rdx
    sub %r8, %rdx
    mov %rdx, (%rsi)
    add $8, %rsi
    dec %rcx
    jnz 2b
    out %al, $EXIT_PORT
    jmp 1b

// BELL latency: ring n (n = 1, 2, ...), wait until the consumer writes n to DATA_ACK, ring n + 1.
// DATA_STOP ends the exchange with an OUT to EXIT_PORT; the next resume starts again at 1.
guest_bell_pingpong:
    mov $BELL_TRAP_ADDR, %edi
1:  mov $1, %eax
2:  mov %rax, (%rdi)
3:  cmpq $0, DATA_STOP
    jne 4f
    cmp DATA_ACK, %rax
    je 5f
    pause
    jmp 3b
5:  inc %rax
    jmp 2b
4:  out %al, $EXIT_PORT
    jmp 1b

// Interrupts: a GDT and IDT of its own, then with interrupts on either HLT (DATA_MODE 0) or spin;
// vectors 32-47 increment DATA_COUNTER and say so with an OUT to IRQ_DONE_PORT.
guest_irq:
    lgdt gdtr(%rip)
    lidt idtr(%rip)
    mov $GUEST_STACK_TOP, %rsp
    // A real code selector: the VCPU starts with selector 0, which IRETQ cannot return to.
    pushq $0x08
    lea 1f(%rip), %rax
    pushq %rax
    lretq
1:  sti
    movq $1, DATA_MARK
    cmpq $0, DATA_MODE
    jne 3f
2:  hlt
    jmp 2b
3:  pause
    jmp 3b

irq_handler:
    lock incq DATA_COUNTER
    out %al, $IRQ_DONE_PORT
    iretq

// An idle guest: says so, then halts with interrupts off.
guest_idle:
    movq $1, DATA_MARK
1:  hlt
    jmp 1b

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

// 48 gates; 0-31 stay absent (an exception triple-faults: the VMM sees it and stops).
.balign 16
idt:
    .fill 32 * 16, 1, 0
    .rept 16
    .word ABS(irq_handler) & 0xffff
    .word 0x08
    .byte 0, 0x8e
    .word (ABS(irq_handler) >> 16) & 0xffff
    .long 0
    .long 0
    .endr
idt_end:

guest_blob_end:

.section .note.GNU-stack, "", @progbits
