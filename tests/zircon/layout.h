// zxhv tests: the guest memory layout of the Zircon hypervisor tests (spec §4.1, §4.2, §4.3),
// shared by the C fixture and the guest routines.
#ifndef ZXHV_TESTS_ZIRCON_LAYOUT_H_
#define ZXHV_TESTS_ZIRCON_LAYOUT_H_

#define GUEST_PAGE_SIZE 0x1000

// spec §4.1.
#define VMO_SIZE 0x1000000                           // 16 MiB of guest RAM at GPA 0
#define TRAP_PORT 0x11
#define TRAP_ADDR (VMO_SIZE - GUEST_PAGE_SIZE * 2)   // 0xFFE000
#define EXIT_TEST_ADDR (VMO_SIZE - GUEST_PAGE_SIZE)  // 0xFFF000
#define GUEST_ENTRY 0x2000
#define X86_CR0_NE 0x20

// Page tables: CR3 = 0 (spec §3.4). PML4 at 0x0000, PDPT at 0x1000 (spec §4.2 step 7). Where the
// guest CPU has no 1 GiB pages, PDPT[0] points to a page directory of 2 MiB pages at PD_ADDR,
// above the code page [GUEST_ENTRY, STACK_TOP) and the stack that grows down from STACK_TOP.
#define PML4_ADDR 0x0000
#define PDPT_ADDR 0x1000
#define STACK_TOP 0x3000                             // spec §4.3: rsp = 0x3000
#define PD_ADDR 0x4000
// A second page directory for tests that map more than the identity map of [0, 1 GiB).
#define PD2_ADDR 0x5000
// The 64-bit TSS that guest_tables loads with the IDT (guest_asm.h), so that a fault at CPL3
// finds a ring-0 stack and is reported instead of ending in a triple fault.
#define TSS_ADDR 0x6000
// Where tests place code for a second VCPU (real mode, CS.base = entry: spec §3.4).
#define AP_ENTRY 0x8000

#endif  // ZXHV_TESTS_ZIRCON_LAYOUT_H_
