// zxhv run: the machine `zxhv run` gives a guest (its "board"). Guests in guests/ and the loaders
// rely on these numbers; docs/zxhv-run.md describes them for guest writers.
#ifndef ZXHV_TOOLS_PLATFORM_H_
#define ZXHV_TOOLS_PLATFORM_H_

// Guest RAM is one VMO mapped at guest physical 0 .. --mem (default 128 MiB, minimum 4 MiB).
#define PLAT_RAM_BASE 0x0ull
#define PLAT_MEM_DEFAULT (128ull << 20)
#define PLAT_MEM_MIN (4ull << 20)

// The first VCPU starts in 64-bit mode with paging and CR3 = 0 (spec §3.4), so the VMM writes
// identity page tables at guest physical 0: PML4 at 0x0, PDPT at 0x1000, page directories from
// 0x2000 (2 MiB pages; 4 directories map the low 4 GiB, MMIO included). 0x0-0x7fff is theirs.
#define PLAT_PAGE_TABLES 0x0ull
#define PLAT_PAGE_TABLES_END 0x8000ull
#define PLAT_IDENTITY_MAP_SIZE (4ull << 30)

// Linux: the zero page (boot_params) and the command line.
#define PLAT_BOOT_PARAMS 0x8000ull
#define PLAT_CMDLINE 0x20000ull
#define PLAT_CMDLINE_MAX 0x10000ull

// Flat binaries are loaded and entered here unless --addr says otherwise.
#define PLAT_FLAT_DEFAULT_ADDR 0x100000ull

// IO ports. One IO trap covers every port; the VMM dispatches by port number.
#define PLAT_UART_PORT 0x3f8u  // 16550 UART, 8 ports, no IRQ
#define PLAT_EXIT_PORT 0xf4u   // a 1-, 2- or 4-byte OUT ends the run; status = value & 0xff

// virtio-console over MMIO (virtio-mmio version 2, device ID 3). Registers: one page, a MEM trap.
// QueueNotify (offset 0x50) works as in the virtio spec; in addition a write of any size to
// PLAT_VIRTIO_CON_BELL + 4 * queue is a doorbell for that queue (a BELL trap, served by a port
// thread: the asynchronous path).
#define PLAT_VIRTIO_CON_BASE 0xfeb00000ull
#define PLAT_VIRTIO_CON_SIZE 0x1000ull
#define PLAT_VIRTIO_CON_BELL 0xfeb01000ull
#define PLAT_VIRTIO_CON_BELL_SIZE 0x1000ull

// At most this many VCPUs (--cpus).
#define PLAT_MAX_CPUS 64u

#endif  // ZXHV_TOOLS_PLATFORM_H_
