// zxhv run: a doorbell page. A BELL trap (spec §1.2) whose GUEST_BELL packets go to a port that a
// dedicated thread serves: the guest's write does not wait for the VMM (the asynchronous path).
// Each doorbell calls |ring| on that thread with the offset of the write in the page.
#ifndef ZXHV_TOOLS_DEV_BELL_H_
#define ZXHV_TOOLS_DEV_BELL_H_

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zircon/types.h>

#include "stats.h"

struct bell {
    zx_handle_t port;
    uint64_t base;
    void (*ring)(void* ctx, uint64_t offset);
    void* ctx;
    bool trace;  // log each doorbell to stderr
    pthread_t thread;
    bool running;
    struct latency stats;  // handling times; the thread's until bell_stop returns
};

// Traps guest physical [base, base + size) (page-aligned) on |guest| and starts the thread.
// Returns ZX_OK, or the failing call's status (the thread: ZX_ERR_NO_RESOURCES); on failure
// nothing is left running, but the port may be open (bell_stop closes it).
zx_status_t bell_start(struct bell* b, zx_handle_t guest, uint64_t base, uint64_t size,
                       uint64_t key, void (*ring)(void* ctx, uint64_t offset), void* ctx,
                       bool trace);

// Stops the thread, if running, and closes the port. Blocks until a doorbell in progress is done.
void bell_stop(struct bell* b);

#endif  // ZXHV_TOOLS_DEV_BELL_H_
