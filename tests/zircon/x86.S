// zxhv tests: the guest code of Zircon's x86 hypervisor tests (spec §4.4, tests 1-14), written
// for zxhv from the specification. See guest_asm.h for how a routine runs and reports.

#include "guest_asm.h"

    .section .rodata.zircon_guest, "a"
    .code64

// 1. vcpu_resume: CR3 load/store and a GS_BASE write run without an exit; CPUID is emulated.
routine vcpu_resume
    mov %cr3, %rax
    mov %rax, %cr3
    xor %eax, %eax
    xor %edx, %edx
    mov $MSR_GS_BASE, %ecx
    wrmsr
    xor %eax, %eax
    cpuid
    GUEST_EXIT
end_routine vcpu_resume

// 2. vcpu_read_write_state: the host wrote i to the i-th register; the guest adds i again and
// sets CF and AC.
routine vcpu_read_write_state
    add $1, %rax
    add $2, %rcx
    add $3, %rdx
    add $4, %rbx
    add $5, %rsp
    add $6, %rbp
    add $7, %rsi
    add $8, %rdi
    add $9, %r8
    add $10, %r9
    add $11, %r10
    add $12, %r11
    add $13, %r12
    add $14, %r13
    add $15, %r14
    add $16, %r15
    stc
    stac
    GUEST_EXIT
end_routine vcpu_read_write_state

// 3. vcpu_interrupt: wait with interrupts on; the vector-32 gate makes the exit.
routine vcpu_interrupt
    guest_tables vcpu_interrupt_start, idt=1
    sti
.Lspin_irq:
    jmp .Lspin_irq
end_routine vcpu_interrupt

// 4, 5. guest_set_trap_with_mem / _with_bell: one store to the trapped page, then the exit.
routine guest_set_trap_with_mem
    movq $0, TRAP_ADDR
    GUEST_EXIT
end_routine guest_set_trap_with_mem

routine guest_set_trap_with_bell
    movq $0, TRAP_ADDR
    GUEST_EXIT
end_routine guest_set_trap_with_bell

// 6. guest_set_trap_with_io: one byte out to the trapped port, then the exit.
routine guest_set_trap_with_io
    out %al, $TRAP_PORT
    GUEST_EXIT
end_routine guest_set_trap_with_io

// 7. vcpu_hlt: halt with interrupts on; the vector-32 gate makes the exit. Should HLT ever
// return without an interrupt, the marker after it says so.
routine vcpu_hlt
    guest_tables vcpu_hlt_start, idt=1
    sti
    hlt
    GUEST_FAIL 7
end_routine vcpu_hlt

// 8. vcpu_pause: PAUSE exits (on Zircon) and the guest goes on.
routine vcpu_pause
    pause
    GUEST_EXIT
end_routine vcpu_pause

// 9. vcpu_write_cr0: try to clear CR0.NE, then read CR0 back into rax.
routine vcpu_write_cr0
    mov %cr0, %rax
    and $~X86_CR0_NE, %rax
    mov %rax, %cr0
    mov %cr0, %rax
    GUEST_EXIT
end_routine vcpu_write_cr0

// 10. vcpu_compat_mode: far returns into 32-bit compatibility mode (ebx = 1 proves it) and into
// a 16-bit code segment (cx = 2 proves that pushes there are 2 bytes), then back to 64-bit mode.
#define HERE(label) GUEST_ADDR(vcpu_compat_mode_start, label)
routine vcpu_compat_mode
    guest_tables vcpu_compat_mode_start
    xor %ebx, %ebx
    xor %ecx, %ecx
    push $SEL_CODE32
    push $HERE(.Lcompat32)
    lretq

    .code32
.Lcompat32:
    // 0x41 is "inc %ecx" here but only a REX prefix in 64-bit mode, where the loop would see
    // rcx = 0 - 1 and jump straight to the exit, leaving rbx = 0.
    xor %ecx, %ecx
    .byte 0x41
    loop .Lcompat_exit
    mov $1, %ebx
    push $SEL_CODE64
    push $HERE(.Lback64)
    lret

    .code64
.Lback64:
    push $SEL_CODE16
    push $HERE(.Lcode16)
    lretq

    .code16
.Lcode16:
    // A 16-bit code segment: push $0 must move sp by 2.
    mov %sp, %ax
    sub $2, %ax
    pushw $0
    cmp %sp, %ax
    popw %ax
    jne .Lleave16
    mov $2, %cx
.Lleave16:
    pushl $SEL_CODE64
    pushl $HERE(.Lcompat_done)
    lretl

    .code64
.Lcompat_done:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    mov %eax, %ss
.Lcompat_exit:
    GUEST_EXIT
end_routine vcpu_compat_mode
#undef HERE

// 11. vcpu_syscall: SYSRET to 64-bit ring 3 (CS 0x33, SS 0x2b), SYSCALL back to ring 0 at LSTAR.
#define HERE(label) GUEST_ADDR(vcpu_syscall_start, label)
routine vcpu_syscall
    guest_tables vcpu_syscall_start, idt=1
    // STAR[47:32] = ring-0 CS (SS = +8); STAR[63:48] + 16 = ring-3 CS for SYSRET (SS = +8).
    mov $MSR_STAR, %ecx
    xor %eax, %eax
    mov $((SEL_USER_CODE32 << 16) | SEL_CODE64), %edx
    wrmsr
    mov $MSR_LSTAR, %ecx
    mov $HERE(.Lsyscall_target), %eax
    xor %edx, %edx
    wrmsr
    pushfq
    pop %r11
    mov $HERE(.Lring3_syscall), %rcx
    sysretq
.Lring3_syscall:
    syscall
.Lsyscall_target:
    GUEST_EXIT
end_routine vcpu_syscall
#undef HERE

// Programs SYSENTER_CS = CODE64, SYSENTER_EIP = |target| and SYSENTER_ESP = esp, and loads
// SYSEXIT's operands: rdx = |ring3| (the new rip), rcx = rsp (the new rsp).
.macro sysenter_setup target, ring3
    mov $MSR_SYSENTER_CS, %ecx
    mov $SEL_CODE64, %eax
    xor %edx, %edx
    wrmsr
    mov $MSR_SYSENTER_EIP, %ecx
    mov $\target, %eax
    wrmsr
    mov $MSR_SYSENTER_ESP, %ecx
    mov %esp, %eax
    wrmsr
    mov $\ring3, %rdx
    mov %rsp, %rcx
.endm

// 12. vcpu_sysenter: 64-bit SYSEXIT (REX.W) to ring 3 (CS = 0x30|3, SS = 0x38|3), SYSENTER back.
#define HERE(label) GUEST_ADDR(vcpu_sysenter_start, label)
routine vcpu_sysenter
    guest_tables vcpu_sysenter_start, idt=1
    sysenter_setup HERE(.Lsysenter_target), HERE(.Lring3_sysenter)
    sysexitq
.Lring3_sysenter:
    sysenter
.Lsysenter_target:
    GUEST_EXIT
end_routine vcpu_sysenter
#undef HERE

// 13. vcpu_sysenter_compat: 32-bit SYSEXIT to compatibility-mode ring 3 (CS = 0x20|3,
// SS = 0x28|3), SYSENTER back to 64-bit ring 0.
#define HERE(label) GUEST_ADDR(vcpu_sysenter_compat_start, label)
routine vcpu_sysenter_compat
    guest_tables vcpu_sysenter_compat_start, idt=1
    sysenter_setup HERE(.Lsysenter_compat_target), HERE(.Lring3_compat)
    sysexitl
    .code32
.Lring3_compat:
    sysenter
    .code64
.Lsysenter_compat_target:
    GUEST_EXIT
end_routine vcpu_sysenter_compat
#undef HERE

// 14. vcpu_vmcall: an unknown hypercall number; Zircon answers rax = -1000 (KVM_ENOSYS).
routine vcpu_vmcall
    movabsq $0xffffffff, %rax
    vmcall
    GUEST_EXIT
end_routine vcpu_vmcall

    .section .note.GNU-stack, "", @progbits
