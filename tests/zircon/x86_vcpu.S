// zxhv tests: guest code for the VCPU tests beyond Zircon's suite (vcpu_errors_test.c). Same
// conventions as x86.S (guest_asm.h): 64-bit code copied to GUEST_ENTRY unless said otherwise.

#include "guest_asm.h"

// The IO ports these routines use (the tests trap them with the port number as key).
#define PORT_A 0x30
#define PORT_B 0x31
#define UNTRAPPED_PORT 0x99
// Outside the 16 MiB VMO but inside the identity map of [0, 1 GiB).
#define UNMAPPED_ADDR 0x2000000
// Linear 1 GiB: PDPT[1], which the OUT_OF_RANGE test points at GPA 2^48.
#define HIGH_LINEAR 0x40000000
// Iterations of the multi-VCPU counters.
#define COUNT 50

    .section .rodata.zircon_guest, "a"
    .code64

// IN of 1, 2 and 4 bytes from PORT_A into a recognisable rax, then the exit.
routine io_in8
    movabsq $0x1122334455667788, %rax
    in $PORT_A, %al
    GUEST_EXIT
end_routine io_in8

routine io_in16
    movabsq $0x1122334455667788, %rax
    in $PORT_A, %ax
    GUEST_EXIT
end_routine io_in16

routine io_in32
    movabsq $0x1122334455667788, %rax
    in $PORT_A, %eax
    GUEST_EXIT
end_routine io_in32

// rax = the guest's RFLAGS as it starts.
routine rflags_probe
    mov $STACK_TOP, %rsp
    pushfq
    pop %rax
    GUEST_EXIT
end_routine rflags_probe

// rax = RFLAGS with IF and CF set by the guest itself.
routine rflags_sti
    mov $STACK_TOP, %rsp
    sti
    stc
    pushfq
    pop %rax
    GUEST_EXIT
end_routine rflags_sti

// A store to guest RAM that no VMO backs and no trap covers.
routine unmapped_gpa
    movq $0, UNMAPPED_ADDR
    GUEST_FAIL 1
end_routine unmapped_gpa

// An OUT to a port without a trap.
routine untrapped_io
    out %al, $UNTRAPPED_PORT
    GUEST_FAIL 1
end_routine untrapped_io

// A store through a page-table entry that names GPA 2^48 (set up by the test). With an IDT, so a
// reserved-bit page fault shows up as an exception exit instead of a triple fault.
routine high_gpa
    guest_tables high_gpa_start, idt=1
    movq $0, HIGH_LINEAR
    GUEST_FAIL 1
end_routine high_gpa

// An empty IDT: the #UD cannot be delivered, nor the #GP, nor the #DF: a triple fault.
#define HERE(label) GUEST_ADDR(triple_fault_start, label)
routine triple_fault
    lidt HERE(.Lempty_idtr)
    ud2
    GUEST_FAIL 1
.Lempty_idtr:
    .2byte 0
    .8byte 0
end_routine triple_fault
#undef HERE

// String IO to a trapped port: OUTSB once, and REP OUTSB.
routine string_io
    mov $TRAP_PORT, %edx
    mov $GUEST_ENTRY, %esi
    outsb
    GUEST_FAIL 1
end_routine string_io

routine rep_string_io
    mov $TRAP_PORT, %edx
    mov $GUEST_ENTRY, %esi
    mov $4, %ecx
    rep outsb
    GUEST_FAIL 1
end_routine rep_string_io

// The first VCPU of the multi-VCPU test (64-bit): OUT 1..COUNT as dwords to PORT_A, then
// 0xff as a byte (its "exit").
routine bsp_counter
    xor %ecx, %ecx
.Lbsp_next:
    inc %ecx
    mov %ecx, %eax
    out %eax, $PORT_A
    cmp $COUNT, %ecx
    jne .Lbsp_next
    mov $0xff, %al
    out %al, $PORT_A
    GUEST_FAIL 1
end_routine bsp_counter

// The second VCPU (real mode, CS.base = its entry, IP = 0): OUT its CS selector and a word
// read through CS, then 1..COUNT as words to PORT_B, then 0xff as a byte.
    .code16
routine ap_counter
    mov %cs, %ax
    out %ax, $PORT_B
    mov %cs:(.Lap_word - ap_counter_start), %ax
    out %ax, $PORT_B
    xor %cx, %cx
.Lap_next:
    inc %cx
    mov %cx, %ax
    out %ax, $PORT_B
    cmp $COUNT, %cx
    jne .Lap_next
    mov $0xff, %al
    out %al, $PORT_B
    hlt                                 // never resumed after the last OUT
.Lap_word:
    .2byte 0xc0de
end_routine ap_counter
    .code64

    .section .note.GNU-stack, "", @progbits
