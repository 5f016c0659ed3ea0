// zxhv tests: guests that drive the emulated x2APIC (spec §3.7), for tests/x2apic_test.c.
//
// Each routine runs in the Zircon test fixture (tests/zircon/guest_asm.h): copied to GUEST_ENTRY,
// started in 64-bit mode, ending with the exit store. x2apic_tables gives every routine an IDT
// in which vectors 32-47 are counted (x2apic_layout.h: COUNTS, LOG), a #GP on RDMSR or WRMSR is
// counted and stepped over (GP_COUNT), and any other exception ends the routine with the
// exception exit. x2apic_ap_registers is the exception: it runs on a second VCPU, in real mode.

#include "zircon/guest_asm.h"
#include "guests/x2apic_layout.h"

// clang-format off

// WRMSR |msr| = |hi|:|lo|.
.macro wrmsr_imm msr, lo, hi=0
    mov $\msr, %ecx
    mov $\lo, %eax
    mov $\hi, %edx
    wrmsr
.endm

// RDMSR |msr| into the quadword at |dest|.
.macro rdmsr_to msr, dest
    mov $\msr, %ecx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, \dest
.endm

// rax = the TSC.
.macro rdtsc64
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
.endm

// WRMSR IA32_TSC_DEADLINE = rax.
.macro wrmsr_tsc_deadline_rax
    mov %rax, %rdx
    shr $32, %rdx
    mov $MSR_TSC_DEADLINE, %ecx
    wrmsr
.endm

.macro set_phase n
    movq $\n, PHASE
.endm

// Halts until vector |vec| has been taken |n| times, then returns with interrupts on. The check
// runs with interrupts off and STI;HLT cannot be split, so an interrupt that comes between the
// check and the HLT still ends the HLT.
.macro await_count vec, n
.Lawait\@:
    cli
    cmpq $\n, COUNTS + 8 * \vec
    jae .Lawaited\@
    sti
    hlt
    jmp .Lawait\@
.Lawaited\@:
    sti
.endm

// Spins (interrupts on) until at least |n| interrupts have been taken; the host's watchdog
// bounds the wait.
.macro spin_for_log n
.Lspin\@:
    pause
    cmpq $\n, LOG_LEN
    jb .Lspin\@
.endm

// Spins until the TSC has passed the value in |reg|.
.macro spin_until_tsc reg
.Ltsc\@:
    pause
    rdtsc64
    cmp \reg, %rax
    jb .Ltsc\@
.endm

// Halts for good; only the host's kick ends the resume.
.macro halt_forever
.Lhalt\@:
    hlt
    jmp .Lhalt\@
.endm

// The GDT of guest_tables with CS reloaded (the VCPU starts with selector 0, to which IRETQ
// cannot return), then an IDT of 48 gates (see the top of this file).
.macro x2apic_tables start
    guest_tables \start, idt=0
    pushq $SEL_CODE64
    lea .Lx2cs\@(%rip), %rax
    pushq %rax
    lretq
.Lx2cs\@:
    lidt GUEST_ADDR(\start, .Lx2idtr\@)
    jmp .Lx2past\@

    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
.Lx2vec\@_\vec:
  .if \vec == 13
    // #GP: a fault on RDMSR (0f 32) or WRMSR (0f 30) is counted and stepped over, so a test
    // can probe many registers in one run; any other #GP is reported.
    push %rax
    mov 16(%rsp), %rax                  // rip, above the saved rax and the error code
    cmpw $0x320f, (%rax)
    je .Lx2msr_gp\@
    cmpw $0x300f, (%rax)
    je .Lx2msr_gp\@
    pop %rax
    fault_stub 13
.Lx2msr_gp\@:
    add $2, %rax
    mov %rax, 16(%rsp)
    pop %rax
    add $8, %rsp                        // the error code
    lock incq GP_COUNT
    iretq
  .else
    fault_stub \vec
  .endif
    .endr

    .irp vec, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
.Lx2vec\@_\vec:
    push %rax
    mov $\vec, %eax
    jmp .Lx2counted\@
    .endr

    // A counted interrupt (vector in rax, the guest's rax pushed): count it, log it, note the
    // ISR word of its vector and, if the host asked, write EOI = 0.
.Lx2counted\@:
    push %rcx
    push %rdx
    push %rbx
    mov %rax, %rbx
    lock incq COUNTS(, %rbx, 8)
    mov LOG_LEN, %rcx
    cmp $LOG_MAX, %rcx
    jae .Lx2logged\@
    mov %bl, LOG(%rcx)
.Lx2logged\@:
    incq LOG_LEN
    mov %ebx, %ecx
    shr $5, %ecx
    add $X2APIC_ISR0, %ecx
    rdmsr
    or %rax, ISR_SEEN
    cmpq $0, EOI_MODE
    je .Lx2no_eoi\@
    wrmsr_imm X2APIC_EOI, 0
.Lx2no_eoi\@:
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    iretq

    .balign 16
.Lx2idt\@:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    gate GUEST_ADDR(\start, .Lx2vec\@_\vec)
    .endr
.Lx2idt_end\@:
.Lx2idtr\@:
    .2byte .Lx2idt_end\@ - .Lx2idt\@ - 1
    .8byte GUEST_ADDR(\start, .Lx2idt\@)
.Lx2past\@:
.endm

    .section .rodata.x2apic_guest, "a"
    .code64

// One-shot timer: TIMER_VECTOR once after ONESHOT_COUNT ticks. RESULT(0): LVT_TIMER read back;
// RESULT(1): CURRENT_COUNT just after the start; RESULT(2): CURRENT_COUNT after the interrupt.
// Then PHASE 1 and HLT until the host has seen that no second interrupt comes.
routine x2apic_oneshot
    x2apic_tables x2apic_oneshot_start
    wrmsr_imm X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_ONESHOT
    rdmsr_to X2APIC_LVT_TIMER, RESULT(0)
    wrmsr_imm X2APIC_DCR, DCR_DIVIDE_BY_1
    wrmsr_imm X2APIC_INITIAL_COUNT, ONESHOT_COUNT
    rdmsr_to X2APIC_CURRENT_COUNT, RESULT(1)
    await_count TIMER_VECTOR, 1
    rdmsr_to X2APIC_CURRENT_COUNT, RESULT(2)
    set_phase 1
    halt_forever
end_routine x2apic_oneshot

// Periodic timer: wait for three interrupts, then mask the timer (interrupts off meanwhile) and
// record the count then in RESULT(0); PHASE 1, then HLT until the host's kick.
routine x2apic_periodic
    x2apic_tables x2apic_periodic_start
    wrmsr_imm X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC
    wrmsr_imm X2APIC_DCR, DCR_DIVIDE_BY_1
    wrmsr_imm X2APIC_INITIAL_COUNT, PERIODIC_COUNT
    await_count TIMER_VECTOR, 3
    cli
    wrmsr_imm X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC | LVT_MASKED
    mov COUNTS + 8 * TIMER_VECTOR, %rax
    mov %rax, RESULT(0)
    set_phase 1
    sti
    halt_forever
end_routine x2apic_periodic

// TSC-deadline timer: a deadline TSC_DELTA ahead fires; one in the past fires at once; one
// TSC_DISARM_DELTA ahead written over with 0 does not fire even after twice that long (measured
// with the guest's own TSC). RESULT(0): the count after that wait.
routine x2apic_tsc_deadline
    x2apic_tables x2apic_tsc_deadline_start
    wrmsr_imm X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_TSC_DEADLINE
    rdtsc64
    add $TSC_DELTA, %rax
    wrmsr_tsc_deadline_rax
    await_count TIMER_VECTOR, 1
    set_phase 1
    wrmsr_imm MSR_TSC_DEADLINE, 1
    await_count TIMER_VECTOR, 2
    set_phase 2
    rdtsc64
    mov %rax, %rsi
    add $TSC_DISARM_DELTA, %rax
    wrmsr_tsc_deadline_rax
    wrmsr_imm MSR_TSC_DEADLINE, 0
    add $2 * TSC_DISARM_DELTA, %rsi
    spin_until_tsc %rsi
    mov COUNTS + 8 * TIMER_VECTOR, %rax
    mov %rax, RESULT(0)
    GUEST_EXIT
end_routine x2apic_tsc_deadline

// A TSC deadline 2^58 + TSC_DISARM_DELTA ticks ahead (years), which must not fire while the
// guest waits on its own TSC until 2 * TSC_DISARM_DELTA ticks have passed. (2^58 * 10^6 is a
// multiple of 2^64: a host that wrapped ticks * 10^6 to 64 bits would fire it after
// TSC_DISARM_DELTA ticks.) RESULT(0): the count after the wait.
routine x2apic_tsc_deadline_far
    x2apic_tables x2apic_tsc_deadline_far_start
    wrmsr_imm X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_TSC_DEADLINE
    sti
    rdtsc64
    mov %rax, %rsi
    mov $1, %rdx
    shl $58, %rdx
    add %rdx, %rax
    add $TSC_DISARM_DELTA, %rax
    wrmsr_tsc_deadline_rax
    add $2 * TSC_DISARM_DELTA, %rsi
    spin_until_tsc %rsi
    mov COUNTS + 8 * TIMER_VECTOR, %rax
    mov %rax, RESULT(0)
    wrmsr_imm MSR_TSC_DEADLINE, 0
    GUEST_EXIT
end_routine x2apic_tsc_deadline_far

// IA32_TSC_DEADLINE written while the timer is in one-shot mode (its reset state); RESULT(0)
// counts how far the guest went.
routine x2apic_tsc_deadline_wrong_mode
    x2apic_tables x2apic_tsc_deadline_wrong_mode_start
    rdtsc64
    add $TSC_DELTA, %rax
    wrmsr_tsc_deadline_rax
    incq RESULT(0)
    GUEST_EXIT
end_routine x2apic_tsc_deadline_wrong_mode

// WRMSRs REF refuses with ZX_ERR_INVALID_ARGS: EDX set on the 32-bit registers, and the
// reserved LVT timer mode; RESULT(0) counts those the guest got past.
.macro refused_wrmsr msr, lo, hi
    wrmsr_imm \msr, \lo, \hi
    incq RESULT(0)
.endm
routine x2apic_refused_writes
    x2apic_tables x2apic_refused_writes_start
    refused_wrmsr X2APIC_TPR, 0, 1
    refused_wrmsr X2APIC_SVR, 0xff, 1
    refused_wrmsr X2APIC_LVT_LINT0, LVT_MASKED, 1
    refused_wrmsr X2APIC_LVT_ERROR, LVT_MASKED, 0x80000000
    refused_wrmsr X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_MASKED, 1
    refused_wrmsr X2APIC_LVT_TIMER, TIMER_VECTOR | (3 << 17), 0
    refused_wrmsr X2APIC_INITIAL_COUNT, 1000, 1
    refused_wrmsr X2APIC_DCR, DCR_DIVIDE_BY_1, 1
    GUEST_EXIT
end_routine x2apic_refused_writes

// A masked periodic timer with a short period; PHASE 1, then HLT until the host's kick.
routine x2apic_masked
    x2apic_tables x2apic_masked_start
    wrmsr_imm X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC | LVT_MASKED
    wrmsr_imm X2APIC_DCR, DCR_DIVIDE_BY_1
    wrmsr_imm X2APIC_INITIAL_COUNT, MASKED_COUNT
    set_phase 1
    sti
    halt_forever
end_routine x2apic_masked

// Self-IPIs with interrupts on and TPR at its highest (REF ignores TPR): LOW_VECTOR twice, the
// handler writing no EOI; then EOI_MODE is turned on and LOW_VECTOR sent a third time.
routine x2apic_self_ipi
    x2apic_tables x2apic_self_ipi_start
    wrmsr_imm X2APIC_TPR, 0xff
    sti
    wrmsr_imm X2APIC_SELF_IPI, LOW_VECTOR
    spin_for_log 1
    set_phase 1
    wrmsr_imm X2APIC_SELF_IPI, LOW_VECTOR
    spin_for_log 2
    set_phase 2
    movq $1, EOI_MODE
    wrmsr_imm X2APIC_SELF_IPI, LOW_VECTOR
    spin_for_log 3
    GUEST_EXIT
end_routine x2apic_self_ipi

// Self-IPIs of LOW_VECTOR then HIGH_VECTOR with interrupts off: RESULT(0) = the count while
// still off; then interrupts on until both are taken.
routine x2apic_self_ipi_priority
    x2apic_tables x2apic_self_ipi_priority_start
    cli
    wrmsr_imm X2APIC_SELF_IPI, LOW_VECTOR
    wrmsr_imm X2APIC_SELF_IPI, HIGH_VECTOR
    mov LOG_LEN, %rax
    mov %rax, RESULT(0)
    set_phase 1
    sti
    spin_for_log 2
    GUEST_EXIT
end_routine x2apic_self_ipi_priority

// Fixed IPIs: to APIC 1, self, all including self, all excluding self, the x2APIC broadcast;
// each vector is one the IDT counts, so a local delivery would show in LOG_LEN.
routine x2apic_icr_fixed
    x2apic_tables x2apic_icr_fixed_start
    sti
    wrmsr_imm X2APIC_ICR, ICR_FIXED | 42, 1
    wrmsr_imm X2APIC_ICR, ICR_FIXED | ICR_SELF | 43
    wrmsr_imm X2APIC_ICR, ICR_FIXED | ICR_ALL_INCLUDING_SELF | 44
    wrmsr_imm X2APIC_ICR, ICR_FIXED | ICR_ALL_EXCLUDING_SELF | 45
    wrmsr_imm X2APIC_ICR, ICR_FIXED | 46, 0xffffffff
    GUEST_EXIT
end_routine x2apic_icr_fixed

// The start-up of APIC 1: INIT (assert), then STARTUP with vector 8 (entry 0x8000); then the
// same to APIC 5 as an all-excluding-self STARTUP.
routine x2apic_icr_startup
    x2apic_tables x2apic_icr_startup_start
    wrmsr_imm X2APIC_ICR, ICR_INIT | ICR_ASSERT, 1
    set_phase 1
    wrmsr_imm X2APIC_ICR, ICR_STARTUP | 0x08, 1
    set_phase 2
    wrmsr_imm X2APIC_ICR, ICR_INIT | ICR_ASSERT | ICR_ALL_EXCLUDING_SELF
    wrmsr_imm X2APIC_ICR, ICR_STARTUP | ICR_ALL_EXCLUDING_SELF | 0x9a, 5
    GUEST_EXIT
end_routine x2apic_icr_startup

// ICR writes REF does not support: a logical destination, then an NMI. RESULT(0) counts how
// far the guest went.
routine x2apic_icr_unsupported
    x2apic_tables x2apic_icr_unsupported_start
    wrmsr_imm X2APIC_ICR, ICR_FIXED | ICR_LOGICAL | 42, 1
    incq RESULT(0)
    wrmsr_imm X2APIC_ICR, ICR_NMI, 1
    incq RESULT(0)
    GUEST_EXIT
end_routine x2apic_icr_unsupported

// The MSR probe: runs the host's list at PROBE_OPS until PROBE_END, writing {value, #GP taken}
// for each entry to PROBE_OUT. A read that faults leaves PROBE_SENTINEL in both halves.
routine x2apic_msr_probe
    x2apic_tables x2apic_msr_probe_start
    mov $PROBE_OPS, %rsi
    mov $PROBE_OUT, %rdi
.Lprobe_next:
    mov (%rsi), %eax
    cmp $PROBE_END, %eax
    je .Lprobe_done
    movq $0, GP_COUNT
    mov 4(%rsi), %ecx
    cmp $PROBE_WRITE, %eax
    je .Lprobe_write
    mov $PROBE_SENTINEL, %eax
    mov $PROBE_SENTINEL, %edx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, (%rdi)
    jmp .Lprobe_record
.Lprobe_write:
    mov 8(%rsi), %eax
    mov 12(%rsi), %edx
    wrmsr
.Lprobe_record:
    mov GP_COUNT, %rax
    mov %rax, 8(%rdi)
    add $16, %rsi
    add $16, %rdi
    jmp .Lprobe_next
.Lprobe_done:
    GUEST_EXIT
end_routine x2apic_msr_probe

// The second VCPU (real mode, CS.base = AP_ENTRY): OUT the ID, VERSION and SVR registers and
// IA32_APIC_BASE (low half) as dwords to X2APIC_PORT, then halt.
    .code16
routine x2apic_ap_registers
    mov $X2APIC_ID, %ecx
    rdmsr
    out %eax, $X2APIC_PORT
    mov $X2APIC_VERSION, %ecx
    rdmsr
    out %eax, $X2APIC_PORT
    mov $X2APIC_SVR, %ecx
    rdmsr
    out %eax, $X2APIC_PORT
    mov $MSR_APIC_BASE, %ecx
    rdmsr
    out %eax, $X2APIC_PORT
    hlt
end_routine x2apic_ap_registers
    .code64

// clang-format on

    .section .note.GNU-stack, "", @progbits
