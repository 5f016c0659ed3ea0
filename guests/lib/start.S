// Guest runtime: the entry point, the GDT and the interrupt entry stubs.
//
// zxhv run enters _start on the first VCPU in 64-bit mode with paging on (CR3 = 0, identity map of
// the low 4 GiB written by the VMM), all GPRs 0, RSP 0, and GDTR/IDTR at base 0 (spec §3.4): the
// guest brings its own stack, GDT and IDT.

#define BOOT_STACK_SIZE 16384
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    cli
    lea boot_stack_top(%rip), %rsp
    call gdt_load
    // Nothing of .bss is live yet (the stack holds no frames), so clear all of it.
    lea __bss_start(%rip), %rdi
    lea __bss_end(%rip), %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    cld
    rep stosb
    call idt_load
    call main
    mov %eax, %edi
    call guest_exit

// Loads the GDT and its selectors. The VCPU starts with CS selector 0, which an IRETQ could not
// return to, so CS is reloaded with a far return. Called by the BSP and by each AP (trampoline.S).
    .text
    .globl gdt_load
gdt_load:
    lgdt gdt_pointer(%rip)
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    pop %rax
    pushq $KERNEL_CS
    push %rax
    lretq

// One 16-byte stub per vector: pushes a zero where the CPU pushes no error code, then the vector.
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
                           (v) == 29 || (v) == 30)
    .balign 16
    .globl isr_stubs
isr_stubs:
    vector = 0
    .rept 256
    .balign 16
    .if HAS_ERROR_CODE(vector) == 0
    pushq $0
    .endif
    pushq $vector
    jmp isr_common
    vector = vector + 1
    .endr

// Saves the registers the C ABI lets interrupt_dispatch clobber (the layout of struct
// interrupt_frame in rt.h). The CPU aligned RSP to 16 before its pushes; 16 more quadwords keep
// the alignment the call needs.
isr_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov %rsp, %rdi
    cld
    call interrupt_dispatch
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp  // vector and error code
    iretq

// Flat 64-bit code and data. The accessed bits are preset so that loading a selector never writes
// to the table.
    .data
    .balign 16
    .globl gdt, gdt_limit
gdt:
    .quad 0
    .quad 0x00af9b000000ffff  // KERNEL_CS: present, DPL 0, code, L
    .quad 0x00cf93000000ffff  // KERNEL_DS: present, DPL 0, data, writable
gdt_end:
    .set gdt_limit, gdt_end - gdt - 1
gdt_pointer:
    .word gdt_limit
    .quad gdt

    .bss
    .balign 16
boot_stack:
    .skip BOOT_STACK_SIZE
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
