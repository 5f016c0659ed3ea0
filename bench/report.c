// zxhv bench: statistics, the table and the JSON (report.h).
#define _GNU_SOURCE
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

enum goal_kind { GOAL_NONE, GOAL_RATIO_MAX, GOAL_ZXHV_MAX, GOAL_SPEEDUP_MIN };

struct row_info {
    const char* id;
    const char* title;
    const char* baseline;
    enum unit unit;
    enum goal_kind goal;
    double goal_value;
};

static const struct row_info rows[ROW_COUNT] = {
    [ROW_CREATE] = {"guest_create_first_exit",
                    "guest create + 2 MiB + VCPU + first exit + teardown", "raw KVM", UNIT_NS,
                    GOAL_RATIO_MAX, 1.10},
    [ROW_IO] = {"io_round_trip", "IO trap round trip (OUT, resume)", "raw KVM", UNIT_NS,
                GOAL_RATIO_MAX, 1.05},
    [ROW_MEM_WRITE] = {"mem_write_round_trip", "MEM trap round trip, write", "raw KVM", UNIT_NS,
                       GOAL_RATIO_MAX, 1.10},
    [ROW_MEM_READ] = {"mem_read_round_trip",
                      "MEM trap round trip, read (zxhv_vcpu_mem_complete_read)", "raw KVM", UNIT_NS,
                      GOAL_NONE, 0},
    [ROW_MEM_READ_STATE] = {"mem_read_round_trip_state",
                            "MEM trap round trip, read (Zircon way: read_state + write_state)",
                            "raw KVM", UNIT_NS, GOAL_NONE, 0},
    [ROW_BELL_EXIT_GUEST] = {"bell_exit_guest_time", "BELL via exit: guest time per ring",
                             "raw KVM: MMIO exit + KVM_RUN", UNIT_NS, GOAL_NONE, 0},
    [ROW_BELL_FAST_GUEST] = {"bell_fast_guest_time", "BELL via ioeventfd: guest time per ring",
                             "raw KVM ioeventfd", UNIT_NS, GOAL_NONE, 0},
    [ROW_BELL_EXIT_TPUT] = {"bell_exit_delivered", "BELL via exit: per ring, burst until delivered",
                            "raw KVM: MMIO exit + KVM_RUN (nothing delivered)", UNIT_NS, GOAL_NONE,
                            0},
    [ROW_BELL_FAST_TPUT] = {"bell_fast_delivered",
                            "BELL via ioeventfd: per ring, burst until delivered",
                            "raw KVM ioeventfd, read by a thread", UNIT_NS, GOAL_NONE, 0},
    [ROW_BELL_EXIT_LAT] = {"bell_exit_latency", "BELL via exit: latency, ring to reader",
                           "raw KVM: MMIO exit, eventfd to the reader", UNIT_NS, GOAL_NONE, 0},
    [ROW_BELL_FAST_LAT] = {"bell_fast_latency", "BELL via ioeventfd: latency, ring to reader",
                           "raw KVM ioeventfd, reader in read()", UNIT_NS, GOAL_NONE, 0},
    [ROW_IRQ_HALTED] = {"irq_halted", "zx_vcpu_interrupt to a halted VCPU, until the handler runs",
                        "raw KVM, user-space irqchip: futex wake + KVM_INTERRUPT", UNIT_NS,
                        GOAL_RATIO_MAX, 1.2},
    [ROW_IRQ_RUNNING] = {"irq_running",
                         "zx_vcpu_interrupt to a running VCPU, until the handler runs",
                         "raw KVM, user-space irqchip: signal + KVM_INTERRUPT", UNIT_NS, GOAL_NONE,
                         0},
    [ROW_PORT] = {"port_queue_wait", "port queue -> wait, two threads, per packet",
                  "mutex + condvar queue", UNIT_NS, GOAL_NONE, 0},
    [ROW_HANDLE] = {"handle_duplicate_close", "handle duplicate + close",
                    "dup() + close() of an fd", UNIT_NS, GOAL_NONE, 0},
    [ROW_RSS] = {"rss_per_idle_guest", "RSS per idle guest, guest RAM excluded", "raw KVM",
                 UNIT_KIB, GOAL_ZXHV_MAX, 256},
    [ROW_FDS] = {"fds_per_guest", "descriptors per guest", "raw KVM", UNIT_COUNT, GOAL_NONE, 0},
};

// The derived row: how much faster a ring is for the guest through the ioeventfd than through an
// exit (the ratio of the medians of the two guest-time rows).
#define SPEEDUP_ID "bell_fast_speedup"
#define SPEEDUP_TITLE "BELL: ioeventfd speed-up over exit (guest time per ring)"
#define SPEEDUP_GOAL 4.0

static const char* idle_guests_note(void) {
    static char note[32];
    snprintf(note, sizeof(note), " (%d guests)", cfg.idle_guests);
    return note;
}

struct stats {
    size_t n;
    double median, p10, p90;
};

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static double percentile(const double* sorted, size_t n, double p) {
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = pos - (double)lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

static struct stats stats_of(enum row_id row, enum side side) {
    const struct samples* s = row_samples(row, side);
    struct stats st = {.n = s->count};
    if (s->count == 0) return st;
    double* sorted = malloc(s->count * sizeof(double));
    CHECK(sorted != NULL, "malloc");
    for (size_t i = 0; i < s->count; i++) {
        sorted[i] = rows[row].unit == UNIT_NS ? ticks_to_ns(s->values[i]) : s->values[i];
    }
    qsort(sorted, s->count, sizeof(double), cmp_double);
    st.median = percentile(sorted, s->count, 0.5);
    st.p10 = percentile(sorted, s->count, 0.1);
    st.p90 = percentile(sorted, s->count, 0.9);
    free(sorted);
    return st;
}

static double ratio_of(const struct stats* base, const struct stats* zx) {
    return base->n && zx->n && base->median > 0 ? zx->median / base->median : NAN;
}

static bool goal_met(const struct row_info* info, const struct stats* zx, double ratio) {
    switch (info->goal) {
        case GOAL_RATIO_MAX:
            return ratio <= info->goal_value;
        case GOAL_ZXHV_MAX:
            return zx->n && zx->median <= info->goal_value;
        default:
            return true;
    }
}

static void format_value(char* buf, size_t size, enum unit unit, double v) {
    if (unit == UNIT_KIB) {
        snprintf(buf, size, "%.0f KiB", v);
    } else if (unit == UNIT_COUNT) {
        snprintf(buf, size, "%.1f", v);
    } else {
        double us = v / 1000.0;
        if (us >= 10000) {
            snprintf(buf, size, "%.1f ms", us / 1000.0);
        } else {
            snprintf(buf, size, us < 10 ? "%.2f µs" : us < 1000 ? "%.1f µs" : "%.0f µs", us);
        }
    }
}

static void format_stats(char* buf, size_t size, enum unit unit, const struct stats* st) {
    if (st->n == 0) {
        snprintf(buf, size, "-");
        return;
    }
    char m[32], lo[32], hi[32];
    format_value(m, sizeof(m), unit, st->median);
    format_value(lo, sizeof(lo), unit, st->p10);
    format_value(hi, sizeof(hi), unit, st->p90);
    if (st->n == 1) {
        snprintf(buf, size, "%s", m);
    } else {
        snprintf(buf, size, "%s (%s – %s)", m, lo, hi);
    }
}

static void goal_text(char* buf, size_t size, const struct row_info* info, const struct stats* zx,
                      double ratio) {
    switch (info->goal) {
        case GOAL_RATIO_MAX:
            snprintf(buf, size, "ratio ≤ %.2f: %s", info->goal_value,
                     isnan(ratio)                ? "?"
                     : goal_met(info, zx, ratio) ? "met"
                                                 : "MISSED");
            break;
        case GOAL_ZXHV_MAX:
            snprintf(buf, size, "zxhv ≤ %.0f KiB: %s", info->goal_value,
                     zx->n == 0                  ? "?"
                     : goal_met(info, zx, ratio) ? "met"
                                                 : "MISSED");
            break;
        default:
            snprintf(buf, size, " ");
            break;
    }
}

// The speed-up of the ioeventfd over the exit path for one side (exit time / fast time).
static double speedup(enum side side) {
    struct stats exit = stats_of(ROW_BELL_EXIT_GUEST, side);
    struct stats fast = stats_of(ROW_BELL_FAST_GUEST, side);
    return exit.n && fast.n && fast.median > 0 ? exit.median / fast.median : NAN;
}

static void lost_note(FILE* out) {
    if (bench_irq_lost[SIDE_BASE] == 0 && bench_irq_lost[SIDE_ZXHV] == 0) return;
    fprintf(out,
            "\nInterrupts lost (not handled within 20 s, until a kick; left out of the figures): "
            "baseline %d, zxhv %d.\n",
            bench_irq_lost[SIDE_BASE], bench_irq_lost[SIDE_ZXHV]);
}

void report_table(FILE* out) {
    fprintf(out,
            "| scenario | baseline | baseline: median (p10 – p90) | zxhv: median (p10 – p90) | "
            "zxhv / baseline | goal |\n");
    fprintf(out, "|---|---|---|---|---|---|\n");
    for (int r = 0; r < ROW_COUNT; r++) {
        const struct row_info* info = &rows[r];
        struct stats base = stats_of((enum row_id)r, SIDE_BASE);
        struct stats zx = stats_of((enum row_id)r, SIDE_ZXHV);
        if (base.n == 0 && zx.n == 0) continue;
        char b[128], z[128], g[64], rs[16] = "-";
        format_stats(b, sizeof(b), info->unit, &base);
        format_stats(z, sizeof(z), info->unit, &zx);
        double ratio = ratio_of(&base, &zx);
        if (!isnan(ratio)) snprintf(rs, sizeof(rs), "%.2f", ratio);
        goal_text(g, sizeof(g), info, &zx, ratio);
        char title[160];
        snprintf(title, sizeof(title), "%s%s", info->title, r == ROW_RSS ? idle_guests_note() : "");
        fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", title, info->baseline, b, z, rs, g);
        if (r == ROW_BELL_FAST_GUEST) {
            double sb = speedup(SIDE_BASE), sz = speedup(SIDE_ZXHV);
            if (!isnan(sz)) {
                fprintf(out,
                        "| %s | raw KVM: exit vs ioeventfd | %.1f× | %.1f× | %.2f | "
                        "zxhv ≥ %.0f×: %s |\n",
                        SPEEDUP_TITLE, sb, sz, sz / sb, SPEEDUP_GOAL,
                        sz >= SPEEDUP_GOAL ? "met" : "MISSED");
            }
        }
    }
    lost_note(out);
}

static void json_string(FILE* out, const char* s) {
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s);
        } else if ((unsigned char)*s < 0x20) {
            fprintf(out, "\\u%04x", *s);
        } else {
            fputc(*s, out);
        }
    }
    fputc('"', out);
}

static void json_number(FILE* out, double v) {
    if (isnan(v) || isinf(v)) {
        fprintf(out, "null");
    } else {
        fprintf(out, "%.6g", v);
    }
}

static void json_stats(FILE* out, const struct stats* st) {
    if (st->n == 0) {
        fprintf(out, "null");
        return;
    }
    fprintf(out, "{\"n\": %zu, \"median\": ", st->n);
    json_number(out, st->median);
    fprintf(out, ", \"p10\": ");
    json_number(out, st->p10);
    fprintf(out, ", \"p90\": ");
    json_number(out, st->p90);
    fprintf(out, "}");
}

static const char* unit_name(enum unit u) {
    return u == UNIT_NS ? "ns" : u == UNIT_KIB ? "KiB" : "count";
}

// ---- the machine

static void first_line_with(const char* path, const char* key, char* buf, size_t size) {
    snprintf(buf, size, "?");
    FILE* f = fopen(path, "r");
    if (f == NULL) return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (key != NULL && strncmp(line, key, strlen(key)) != 0) continue;
        char* v = key != NULL ? strchr(line, ':') : line;
        if (v == NULL) continue;
        if (key != NULL) v++;
        while (*v == ' ' || *v == '\t') v++;
        size_t n = strcspn(v, "\n");
        if (n >= size) n = size - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
        break;
    }
    fclose(f);
}

struct machine {
    char cpu[128], kernel[128], clocksource[64], kvm[32], outer[512];
    long cpus;
};

static struct machine machine_of(void) {
    struct machine m;
    first_line_with("/proc/cpuinfo", "model name", m.cpu, sizeof(m.cpu));
    struct utsname u;
    snprintf(m.kernel, sizeof(m.kernel), "%s", uname(&u) == 0 ? u.release : "?");
    first_line_with("/sys/devices/system/clocksource/clocksource0/current_clocksource", NULL,
                    m.clocksource, sizeof(m.clocksource));
    snprintf(m.kvm, sizeof(m.kvm), "%s",
             access("/sys/module/kvm_amd", F_OK) == 0     ? "kvm_amd"
             : access("/sys/module/kvm_intel", F_OK) == 0 ? "kvm_intel"
                                                          : "?");
    const char* outer = getenv("ZXHV_BENCH_HOST");
    snprintf(m.outer, sizeof(m.outer), "%s", outer != NULL ? outer : "");
    m.cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return m;
}

void report_machine(FILE* out) {
    struct machine m = machine_of();
    fprintf(out,
            "machine: %s, %ld CPUs, Linux %s, %s, clock source %s, TSC %.3f GHz, nice %d%s%s\n",
            m.cpu, m.cpus, m.kernel, m.kvm, m.clocksource, ticks_rate_ghz(), bench_nice,
            m.outer[0] ? "; " : "", m.outer);
}

void report_json(FILE* out, double seconds) {
    struct machine m = machine_of();
    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(out, "{\n  \"date\": \"%s\",\n  \"mode\": \"%s\",\n  \"rounds\": %d,\n", date,
            cfg.quick ? "quick" : "full", cfg.rounds);
    fprintf(out, "  \"seconds\": %.1f,\n  \"machine\": {\"cpu\": ", seconds);
    json_string(out, m.cpu);
    fprintf(out, ", \"cpus\": %ld, \"kernel\": ", m.cpus);
    json_string(out, m.kernel);
    fprintf(out, ", \"kvm\": ");
    json_string(out, m.kvm);
    fprintf(out, ", \"clocksource\": ");
    json_string(out, m.clocksource);
    fprintf(out, ", \"tsc_ghz\": %.4f, \"nice\": %d, \"host\": ", ticks_rate_ghz(), bench_nice);
    json_string(out, m.outer);
    fprintf(out, "},\n  \"lost_interrupts\": {\"baseline\": %d, \"zxhv\": %d},\n  \"rows\": [\n",
            bench_irq_lost[SIDE_BASE], bench_irq_lost[SIDE_ZXHV]);
    bool first = true;
    for (int r = 0; r < ROW_COUNT; r++) {
        const struct row_info* info = &rows[r];
        struct stats base = stats_of((enum row_id)r, SIDE_BASE);
        struct stats zx = stats_of((enum row_id)r, SIDE_ZXHV);
        if (base.n == 0 && zx.n == 0) continue;
        double ratio = ratio_of(&base, &zx);
        fprintf(out, "%s    {\"id\": \"%s\", \"title\": ", first ? "" : ",\n", info->id);
        first = false;
        char title[160];
        snprintf(title, sizeof(title), "%s%s", info->title, r == ROW_RSS ? idle_guests_note() : "");
        json_string(out, title);
        fprintf(out, ", \"baseline\": ");
        json_string(out, info->baseline);
        fprintf(out, ", \"unit\": \"%s\",\n     \"baseline_stats\": ", unit_name(info->unit));
        json_stats(out, &base);
        fprintf(out, ",\n     \"zxhv_stats\": ");
        json_stats(out, &zx);
        fprintf(out, ",\n     \"ratio\": ");
        json_number(out, ratio);
        if (info->goal != GOAL_NONE) {
            fprintf(out, ", \"goal\": \"%s %g\", \"goal_met\": %s",
                    info->goal == GOAL_RATIO_MAX ? "ratio <=" : "zxhv <=", info->goal_value,
                    goal_met(info, &zx, ratio) ? "true" : "false");
        }
        fprintf(out, "}");
        if (r == ROW_BELL_FAST_GUEST && !isnan(speedup(SIDE_ZXHV))) {
            double sb = speedup(SIDE_BASE), sz = speedup(SIDE_ZXHV);
            fprintf(out, ",\n    {\"id\": \"%s\", \"title\": ", SPEEDUP_ID);
            json_string(out, SPEEDUP_TITLE);
            fprintf(out, ", \"unit\": \"x\", \"baseline\": ");
            json_number(out, sb);
            fprintf(out, ", \"zxhv\": ");
            json_number(out, sz);
            fprintf(out, ", \"goal\": \"zxhv >= %g\", \"goal_met\": %s}", SPEEDUP_GOAL,
                    sz >= SPEEDUP_GOAL ? "true" : "false");
        }
    }
    fprintf(out, "\n  ]\n}\n");
}
