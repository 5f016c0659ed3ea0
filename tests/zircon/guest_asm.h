// zxhv tests: assembler building blocks for the guest routines of tests/zircon (x86-64, GNU as).
//
// Every routine is position-dependent: the host copies the bytes between NAME_start and NAME_end
// to guest physical GUEST_ENTRY (spec §4.1) and the first VCPU starts there in 64-bit mode with
// CR3 = 0 (spec §3.4; the fixture builds the identity map, spec §4.2). A routine reports the end
// of its test with a 12-byte store to EXIT_TEST_ADDR, which the MEM trap there turns into a
// GUEST_MEM packet; the host reads the store's immediate from the packet's instruction bytes:
//   0           the test ran to its end                      (GUEST_EXIT)
//   0xffffffff  an exception or unexpected interrupt         (rax vector, rbx error code, rcx rip)
//   other       the guest reached a point it should never reach (GUEST_FAIL, a marker number)
#ifndef ZXHV_TESTS_ZIRCON_GUEST_ASM_H_
#define ZXHV_TESTS_ZIRCON_GUEST_ASM_H_

#include "layout.h"

// The guest address of |label| in the routine that starts at |start|.
#define GUEST_ADDR(start, label) ((label) - (start) + GUEST_ENTRY)

// Selectors of the GDT that guest_tables installs (spec §4.3).
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_USER_CODE32 0x20
#define SEL_USER_DATA 0x28
#define SEL_USER_CODE64 0x30
#define SEL_USER_DATA_SYSEXIT 0x38
#define SEL_CODE16 0x40
#define SEL_TSS 0x48

#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_GS_BASE 0xc0000101

#ifdef __ASSEMBLER__

// clang-format off

// The routine NAME: global symbols NAME_start and NAME_end around its bytes.
.macro routine name
    .balign 16
    .globl \name\()_start
    .type \name\()_start, @object
\name\()_start:
.endm

.macro end_routine name
    .globl \name\()_end
\name\()_end:
    .size \name\()_start, \name\()_end - \name\()_start
.endm

// movq $imm32, EXIT_TEST_ADDR: 48 c7 04 25 00 f0 ff 00 <imm32>.
.macro exit_with imm
    movq $\imm, EXIT_TEST_ADDR
.endm

.macro GUEST_EXIT
    exit_with 0
.endm

.macro GUEST_FAIL marker
    exit_with \marker
.endm

// One 8-byte code or data descriptor: base 0, limit 0xfffff, |access| byte and |flags| nibble
// (G, D/B, L, AVL) above limit bits 19:16.
.macro segment access, flags
    .2byte 0xffff
    .2byte 0
    .byte 0
    .byte \access
    .byte (\flags << 4) | 0xf
    .byte 0
.endm

// One 16-byte 64-bit interrupt gate (P, DPL 0, type 0xe) through CODE64 to |target|, an address
// below 64 KiB (the routines live in [GUEST_ENTRY, STACK_TOP)).
.macro gate target
    .2byte \target
    .2byte SEL_CODE64
    .byte 0
    .byte 0x8e
    .2byte 0
    .4byte 0
    .4byte 0
.endm

// The handler of exception or interrupt |vec| < 32: the vector in rax, the error code (0 if the
// vector pushes none) in rbx and the interrupted rip in rcx, then the exception exit.
.macro fault_stub vec
    mov $\vec, %eax
  .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || \
      (\vec == 29) || (\vec == 30)
    pop %rbx
  .else
    xor %ebx, %ebx
  .endif
    pop %rcx
    exit_with -1
.endm

// Loads a GDT (spec §4.3: the selectors above, all base 0 and limit 4 GiB) and, if |idt| is 1,
// an IDT of 33 gates: vectors 0-31 lead to fault_stub, vector 32 to the clean exit. Then
// rsp = STACK_TOP. CS is not reloaded: selector 0 keeps its 64-bit attributes.
// With the IDT comes one addition to Zircon's helper: a TSS at TSS_ADDR (all zero but
// RSP0 = STACK_TOP), so that a fault at CPL3 (the SYSCALL and SYSENTER tests) reaches its
// fault_stub instead of ending in a triple fault.
// |start| is the routine's start symbol; the tables sit inline, jumped over.
.macro guest_tables start, idt=0
    lgdt GUEST_ADDR(\start, .Lgdtr\@)
  .if \idt
    lidt GUEST_ADDR(\start, .Lidtr\@)
    movq $STACK_TOP, TSS_ADDR + 4
    mov $SEL_TSS, %eax
    ltr %ax
  .endif
    mov $STACK_TOP, %rsp
    jmp .Lpast_tables\@

  .if \idt
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
.Lstub\@_\vec:
    fault_stub \vec
    .endr
.Lirq32\@:
    GUEST_EXIT
  .endif

    .balign 8
.Lgdt\@:
    .8byte 0                    // 0x00 null
    segment 0x9a, 0xc           // 0x08 ring-0 code, 32-bit (G, D)
    segment 0x9a, 0xa           // 0x10 ring-0 code, 64-bit (G, L)
    segment 0x92, 0xc           // 0x18 ring-0 data (G, B)
    segment 0xfa, 0xc           // 0x20 ring-3 code, 32-bit
    segment 0xf2, 0xc           // 0x28 ring-3 data
    segment 0xfa, 0xa           // 0x30 ring-3 code, 64-bit
    segment 0xf2, 0xc           // 0x38 ring-3 data again: SYSEXIT to 64-bit takes SS from here
    segment 0x9a, 0x8           // 0x40 ring-0 code, 16-bit (G only)
  .if \idt
    // 0x48 available 64-bit TSS (16 bytes): limit 0x67, base TSS_ADDR.
    .2byte 0x67
    .2byte TSS_ADDR & 0xffff
    .byte (TSS_ADDR >> 16) & 0xff
    .byte 0x89
    .byte 0
    .byte (TSS_ADDR >> 24) & 0xff
    .4byte 0
    .4byte 0
  .endif
.Lgdt_end\@:
.Lgdtr\@:
    .2byte .Lgdt_end\@ - .Lgdt\@ - 1
    .8byte GUEST_ADDR(\start, .Lgdt\@)

  .if \idt
    .balign 16
.Lidt\@:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    gate GUEST_ADDR(\start, .Lstub\@_\vec)
    .endr
    gate GUEST_ADDR(\start, .Lirq32\@)
.Lidt_end\@:
.Lidtr\@:
    .2byte .Lidt_end\@ - .Lidt\@ - 1
    .8byte GUEST_ADDR(\start, .Lidt\@)
  .endif

.Lpast_tables\@:
.endm

// clang-format on

#endif  // __ASSEMBLER__

#endif  // ZXHV_TESTS_ZIRCON_GUEST_ASM_H_
