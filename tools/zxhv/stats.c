// zxhv run: exit statistics (stats.h).
#include "stats.h"

#define SUB_BITS 4u
#define SUB_COUNT (1u << SUB_BITS)

const char* exit_kind_name(enum exit_kind kind) {
    static const char* const names[EXIT_KIND_COUNT] = {"io", "mem", "vcpu", "other"};
    return kind < EXIT_KIND_COUNT ? names[kind] : "?";
}

static unsigned bucket_of(uint64_t ns) {
    if (ns < SUB_COUNT)
        return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns);  // >= SUB_BITS
    unsigned sub = (unsigned)(ns >> (e - SUB_BITS)) & (SUB_COUNT - 1);
    unsigned idx = SUB_COUNT + (e - SUB_BITS) * SUB_COUNT + sub;
    return idx < LATENCY_BUCKETS ? idx : LATENCY_BUCKETS - 1;
}

// The middle of bucket |idx|'s range.
static uint64_t bucket_value(unsigned idx) {
    if (idx < SUB_COUNT)
        return idx;
    unsigned e = (idx - SUB_COUNT) / SUB_COUNT + SUB_BITS;
    uint64_t sub = (idx - SUB_COUNT) % SUB_COUNT;
    uint64_t width = 1ull << (e - SUB_BITS);
    return ((SUB_COUNT + sub) << (e - SUB_BITS)) + width / 2;
}

void latency_add(struct latency* l, uint64_t ns) {
    l->count++;
    l->sum_ns += ns;
    l->buckets[bucket_of(ns)]++;
}

uint64_t latency_percentile(const struct latency* l, double p) {
    if (l->count == 0)
        return 0;
    double want = p * (double)l->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
        seen += l->buckets[i];
        if (seen >= rank)
            return bucket_value(i);
    }
    return bucket_value(LATENCY_BUCKETS - 1);
}

void vcpu_stats_record(struct vcpu_stats* s, enum exit_kind kind, uint64_t guest_ns,
                       uint64_t host_ns) {
    latency_add(&s->exits[kind], host_ns);
    s->guest_ns += guest_ns;
    s->host_ns += host_ns;
}

// "850 ns", "12.3 us", "4.5 ms", "2.01 s".
static const char* duration(char* buf, size_t size, uint64_t ns) {
    if (ns < 1000)
        snprintf(buf, size, "%llu ns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(buf, size, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
    else
        snprintf(buf, size, "%.2f s", (double)ns / 1e9);
    return buf;
}

static void print_latency(FILE* out, const char* what, const char* unit, const struct latency* l) {
    char mean[32], p99[32];
    fprintf(out, "zxhv: stats: %s: %llu %s, mean %s, p99 %s\n", what, (unsigned long long)l->count,
            unit, duration(mean, sizeof(mean), l->count ? l->sum_ns / l->count : 0),
            duration(p99, sizeof(p99), latency_percentile(l, 0.99)));
}

void stats_print_vcpu(FILE* out, unsigned id, const struct vcpu_stats* s) {
    char what[32];
    uint64_t total = 0;
    for (unsigned k = 0; k < EXIT_KIND_COUNT; k++) {
        if (s->exits[k].count == 0)
            continue;
        snprintf(what, sizeof(what), "vcpu%u %s", id, exit_kind_name(k));
        print_latency(out, what, "exits", &s->exits[k]);
        total += s->exits[k].count;
    }
    char kinds[256] = "";
    size_t used = 0;
    for (unsigned k = 0; k < EXIT_KIND_COUNT && used < sizeof(kinds); k++) {
        if (s->exits[k].count == 0)
            continue;
        int n = snprintf(kinds + used, sizeof(kinds) - used, "%s%s %llu", used ? ", " : "",
                         exit_kind_name(k), (unsigned long long)s->exits[k].count);
        if (n > 0)
            used += (size_t)n;
    }
    char guest[32], host[32], wall[32];
    fprintf(out, "zxhv: stats: vcpu%u %llu exits%s%s%s, guest %s, host %s, wall %s\n", id,
            (unsigned long long)total, total ? " (" : "", kinds, total ? ")" : "",
            duration(guest, sizeof(guest), s->guest_ns),
            duration(host, sizeof(host), s->host_ns), duration(wall, sizeof(wall), s->wall_ns));
}

void stats_print_bell(FILE* out, const struct latency* bells) {
    print_latency(out, "bell port", "doorbells", bells);
}
