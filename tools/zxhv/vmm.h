// zxhv run: the VMM core. Builds the board of platform.h on the public zxhv API (guest, RAM VMO,
// traps, devices), loads the image, runs one thread per VCPU and ends the run when the guest
// writes the exit port, a VCPU fails, or the process gets SIGINT/SIGTERM/SIGHUP/SIGQUIT.
#ifndef ZXHV_TOOLS_VMM_H_
#define ZXHV_TOOLS_VMM_H_

#include <stdbool.h>
#include <stdint.h>

// Exit statuses of `zxhv run` besides the guest's own (0-255 from the exit port).
#define VMM_EXIT_ERROR 1
#define VMM_EXIT_USAGE 2
#define VMM_EXIT_INTERRUPTED 130

// The most guest RAM the board takes: RAM must end below the MMIO window (PLAT_VIRTIO_CON_BASE).
#define VMM_MEM_MAX (3ull << 30)

struct vmm_options {
    const char* image;
    uint64_t mem_size;    // bytes, a multiple of 4 KiB, PLAT_MEM_MIN..VMM_MEM_MAX
    unsigned cpus;        // 1..PLAT_MAX_CPUS
    const char* cmdline;  // NULL: none
    const char* initrd;   // NULL: none
    bool flat;            // load a flat binary at flat_addr and enter it there
    uint64_t flat_addr;
    bool stats;           // print exit statistics to stderr at the end
    bool trace;           // log every exit to stderr
};

// Runs the guest to the end. Blocks; must be called on the process's main thread before any
// other thread exists (it blocks the stop signals for every thread it starts). Returns the exit
// status for the command: the guest's, VMM_EXIT_ERROR after printing a one-line reason, or
// VMM_EXIT_INTERRUPTED.
int vmm_run(const struct vmm_options* opts);

#endif  // ZXHV_TOOLS_VMM_H_
