// Guest runtime: the AP start-up trampoline.
//
// zxhv starts each AP in real mode with CS.base = the STARTUP entry (SIPI vector << 12), CS
// selector = entry >> 4, IP 0, CR0 = NE, paging and long mode off, CR3 0 (spec §3.4). The real-
// mode part below is a template that smp_start_aps copies to a page below 1 MiB: it addresses its
// own data relative to CS, so it runs at any page. It enables PAE, loads CR3 = 0 (the VMM's
// identity map, platform.h), sets EFER.LME, turns on protection and paging together and jumps
// straight to 64-bit code in the image, which takes a stack by x2APIC ID and calls ap_entry(id).

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define MSR_X2APIC_ID 0x802
#define AP_STACK_SIZE 8192
#define SMP_MAX_CPUS 64

    .section .rodata.trampoline, "a"
    .code16
    .globl trampoline_start, trampoline_end
trampoline_start:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl (trampoline_gdt_pointer - trampoline_start)
    mov $CR4_PAE, %eax
    mov %eax, %cr4
    xor %eax, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmpl $KERNEL_CS, $ap_long_mode  // an absolute address: the image is below 4 GiB
// The GDT itself is the runtime's (start.S).
    .balign 8
trampoline_gdt_pointer:
    .word gdt_limit
    .long gdt
trampoline_end:

    .text
    .code64
ap_long_mode:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $MSR_X2APIC_ID, %ecx
    rdmsr
    cmp $SMP_MAX_CPUS, %eax
    jae 1f
    mov %eax, %edi
    inc %eax
    imul $AP_STACK_SIZE, %eax
    lea ap_stacks(%rip), %rsp
    add %rax, %rsp
    call gdt_load  // CS is already KERNEL_CS; this also clears FS and GS
    call ap_entry
1:  cli
    hlt
    jmp 1b

    .bss
    .balign 16
ap_stacks:
    .skip AP_STACK_SIZE * SMP_MAX_CPUS

    .section .note.GNU-stack, "", @progbits
