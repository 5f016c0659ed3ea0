// zxhv bench: what the benchmark's parts share. Each scenario runs the same guest code twice, once
// under a raw-KVM baseline written directly against linux/kvm.h (raw_kvm.c) and once through the
// zxhv API (zx_guest.c), in alternating batches so that the host's noise hits both; each batch
// adds samples to its rows (common.c), and report.c turns them into the table and the JSON.
#ifndef ZXHV_BENCH_BENCH_H_
#define ZXHV_BENCH_BENCH_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#include "layout.h"

// The two sides of every row: the baseline (raw KVM, or a plain Linux primitive where KVM has no
// equivalent) and zxhv.
enum side { SIDE_BASE = 0, SIDE_ZXHV = 1 };

// The rows of the table, in the order printed.
enum row_id {
    ROW_CREATE,
    ROW_IO,
    ROW_MEM_WRITE,
    ROW_MEM_READ,
    ROW_MEM_READ_STATE,
    ROW_BELL_EXIT_GUEST,
    ROW_BELL_FAST_GUEST,
    ROW_BELL_EXIT_TPUT,
    ROW_BELL_FAST_TPUT,
    ROW_BELL_EXIT_LAT,
    ROW_BELL_FAST_LAT,
    ROW_IRQ_HALTED,
    ROW_IRQ_RUNNING,
    ROW_PORT,
    ROW_HANDLE,
    ROW_RSS,
    ROW_FDS,
    ROW_COUNT,
};

enum unit { UNIT_NS, UNIT_KIB, UNIT_COUNT };

// How many of each thing a batch does; --quick (make bench QUICK=1) makes them small (main.c).
struct config {
    bool quick;
    int rounds;          // alternating raw/zxhv batches per scenario
    int create_samples;  // guests created per batch
    int exit_samples;    // IO/MEM round trips per batch (each one a sample)
    int bell_burst;      // rings per BELL burst (<= GUEST_TIMES_MAX)
    int bell_bursts;     // bursts per batch
    int bell_pings;      // ping-pong rings per batch
    int irq_samples;     // interrupts per batch
    int port_packets;    // packets per port sample
    int port_samples;
    int handle_ops;  // duplicate+close pairs per sample
    int handle_samples;
    int idle_guests;  // guests per memory census
};

extern struct config cfg;
extern int bench_nice;  // the nice value the benchmark ran at

// ---- time: the TSC, calibrated against CLOCK_MONOTONIC (which costs microseconds in a VM whose
// clock source is the HPET).
static inline uint64_t ticks(void) {
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
// Measures the TSC's rate over |ms| milliseconds; every call adds to one running estimate.
void ticks_calibrate(int ms);
double ticks_to_ns(double ticks);
double ticks_rate_ghz(void);
uint64_t monotonic_ns(void);

// ---- rows: a sample of a time row is in TSC ticks (converted when reported), others as is.
void row_add(enum row_id row, enum side side, double value);

// ---- failures: the benchmark stops with a message (it is a program, not the library).
#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) bench_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
    } while (0)
#define CHECK_ZX(expr)                                                                          \
    do {                                                                                        \
        zx_status_t s_ = (expr);                                                                \
        if (s_ != ZX_OK) bench_fail(__FILE__, __LINE__, #expr, "%s", zx_status_get_string(s_)); \
    } while (0)
#define CHECK_SYS(expr)                                                               \
    do {                                                                              \
        if ((expr) < 0) bench_fail(__FILE__, __LINE__, #expr, "%s", strerror(errno)); \
    } while (0)
__attribute__((noreturn, format(printf, 4, 5))) void bench_fail(const char* file, int line,
                                                                const char* what, const char* fmt,
                                                                ...);

// ---- the guest image (guest.S at GUEST_CODE, page tables at GUEST_TABLES)
extern const uint8_t guest_blob_start[], guest_blob_end[];
extern const uint8_t guest_io_loop[], guest_exit_now[], guest_mem_write_loop[],
    guest_mem_read_loop[], guest_bell_burst[], guest_bell_pingpong[], guest_irq[], guest_idle[];

static inline uint64_t guest_entry(const uint8_t* program) {
    return GUEST_CODE + (uint64_t)(program - guest_blob_start);
}
// The page tables, GUEST_TABLES_SIZE bytes.
const void* guest_tables(void);

// ---- process census. Resident memory comes from walking the page tables (/proc/self/smaps):
// the kernel's VmRSS counters lag behind by up to 64 pages per thread.
struct census {
    long rss_kib;        // every mapping
    long guest_ram_kib;  // the part in guest RAM: VMOs (memfd "zxhv-vmo") and the ranges given
    int fds;
    int threads;
};
struct census census_take(const uint8_t* const* ram, int n, size_t ram_size);

// ---- scenarios: each runs one batch of one side and adds its samples.
void bench_create(enum side side);
void bench_io(enum side side);
void bench_mem_write(enum side side);
void bench_mem_read(enum side side);
void bench_mem_read_state(enum side side);
void bench_bell_throughput(enum side side);
void bench_bell_latency(enum side side);
void bench_irq_halted(enum side side);
void bench_irq_running(enum side side);
extern int bench_irq_lost[2];  // interrupts not handled until the VCPU was kicked, per side
void bench_port(enum side side);
void bench_handle(enum side side);
void bench_idle_memory(enum side side);
// The measurement of bench_idle_memory, in a process of its own (main: --memory-child).
int bench_memory_child(enum side side, int guests);

#endif  // ZXHV_BENCH_BENCH_H_
