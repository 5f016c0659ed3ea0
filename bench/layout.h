// zxhv bench: the guest's memory layout, shared by the guest code (guest.S) and both VMMs (the
// raw-KVM baseline and the zxhv one), which load the same bytes at the same addresses.
#ifndef ZXHV_BENCH_LAYOUT_H_
#define ZXHV_BENCH_LAYOUT_H_

#define GUEST_RAM_SIZE 0x200000  // 2 MiB of guest RAM at GPA 0

// Identity page tables for [0, 1 GiB) with 2 MiB pages, rooted at GPA 0 (the CR3 of a first
// VCPU): PML4 at 0, PDPT at 0x1000, PD at 0x2000.
#define GUEST_TABLES 0x0
#define GUEST_TABLES_SIZE 0x3000

// A page both sides' hosts read and write while the guest runs.
#define GUEST_DATA 0x8000
#define DATA_ACK (GUEST_DATA + 0x00)      // BELL ping-pong: the last ring the consumer saw
#define DATA_STOP (GUEST_DATA + 0x08)     // BELL ping-pong: nonzero ends the exchange
#define DATA_COUNTER (GUEST_DATA + 0x10)  // interrupts the guest's handler has counted
#define DATA_MODE (GUEST_DATA + 0x18)     // interrupt guest: 0 waits in HLT, 1 spins
#define DATA_BURST (GUEST_DATA + 0x20)    // BELL burst: rings per burst
#define DATA_MARK (GUEST_DATA + 0x28)     // set by a guest once it is set up

// BELL burst: the guest's own TSC ticks for each ring (one 8-byte entry per ring).
#define GUEST_TIMES 0x9000
#define GUEST_TIMES_MAX 512

#define GUEST_CODE 0x10000  // guest.S's blob is copied here
#define GUEST_STACK_TOP 0x20000

// Outside guest RAM: accesses there exit (MEM and BELL traps, or plain MMIO for the baseline).
#define MEM_TRAP_ADDR 0x400000
#define BELL_TRAP_ADDR 0x401000
#define IO_PORT 0x10        // the IO round trip's port
#define EXIT_PORT 0x11      // "done": every program ends a phase with an OUT here
#define IRQ_DONE_PORT 0x12  // the interrupt handler's OUT: "handled"

#define IRQ_VECTOR 32  // the interrupt guest handles vectors 32-47

#endif  // ZXHV_BENCH_LAYOUT_H_
