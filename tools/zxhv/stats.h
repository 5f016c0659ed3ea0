// zxhv run: exit statistics for --stats. Each VCPU thread records its own (no locking); the
// totals are printed to stderr after every VCPU thread has ended. Handling times go into a
// log-linear histogram (16 buckets per power of two, so a percentile is within ~6%).
#ifndef ZXHV_TOOLS_STATS_H_
#define ZXHV_TOOLS_STATS_H_

#include <stdint.h>
#include <stdio.h>

// What a VCPU's resume returned. Doorbells never come back to a VCPU (the BELL trap's port
// thread gets them), so they are counted apart (stats_print_bell).
enum exit_kind { EXIT_IO, EXIT_MEM, EXIT_VCPU, EXIT_OTHER, EXIT_KIND_COUNT };

// "io", "mem", "vcpu", "other".
const char* exit_kind_name(enum exit_kind kind);

#define LATENCY_BUCKETS 608u  // up to 2^41 ns; longer times fall in the last bucket

struct latency {
    uint64_t count;
    uint64_t sum_ns;
    uint32_t buckets[LATENCY_BUCKETS];
};

void latency_add(struct latency* l, uint64_t ns);

// The smallest time at or below which a fraction |p| (0..1) of the samples lie (bucket middle).
uint64_t latency_percentile(const struct latency* l, double p);

// One VCPU's exits: per kind, how long the VMM took to handle them (from zx_vcpu_resume returning
// to the next call), and the time spent inside zx_vcpu_resume (the guest's, roughly).
struct vcpu_stats {
    struct latency exits[EXIT_KIND_COUNT];
    uint64_t guest_ns;
    uint64_t host_ns;
    uint64_t wall_ns;  // from the VCPU's creation to its thread's end
};

// Records one exit of |kind| handled in |host_ns| after |guest_ns| inside zx_vcpu_resume.
void vcpu_stats_record(struct vcpu_stats* s, enum exit_kind kind, uint64_t guest_ns,
                       uint64_t host_ns);

// Prints VCPU |id|'s lines: one per kind seen, then the summary
// "zxhv: stats: vcpuN T exits (io A, mem B), guest X, host Y, wall Z".
void stats_print_vcpu(FILE* out, unsigned id, const struct vcpu_stats* s);

// Prints the doorbell port thread's line: "zxhv: stats: bell port: N doorbells, mean X, p99 Y".
void stats_print_bell(FILE* out, const struct latency* bells);

#endif  // ZXHV_TOOLS_STATS_H_
