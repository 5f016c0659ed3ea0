// zxhv bench: the table and bench/results.json.
#ifndef ZXHV_BENCH_REPORT_H_
#define ZXHV_BENCH_REPORT_H_

#include <stdio.h>

#include "bench.h"

struct samples {
    double* values;
    size_t count, capacity;
};

const struct samples* row_samples(enum row_id row, enum side side);

// Prints the Markdown table of every row that has samples to |out|.
void report_table(FILE* out);
// Writes the JSON document (machine, mode, every row with its statistics) to |out|.
void report_json(FILE* out, double seconds);
// A one-line description of the machine (also in the JSON).
void report_machine(FILE* out);

#endif  // ZXHV_BENCH_REPORT_H_
