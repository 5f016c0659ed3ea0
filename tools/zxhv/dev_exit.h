// zxhv run: the exit device. A 1-, 2- or 4-byte OUT to PLAT_EXIT_PORT ends the run; the low byte
// of the value becomes the command's exit status (platform.h). Reads return all ones.
#ifndef ZXHV_TOOLS_DEV_EXIT_H_
#define ZXHV_TOOLS_DEV_EXIT_H_

#include <stdint.h>

#include "dev_io.h"

struct exit_dev {
    // Called on the VCPU thread that wrote the port.
    void (*on_exit)(void* ctx, uint8_t status);
    void* ctx;
};

// Initializes |e| and registers its port on |bus|. Returns -1 if the bus refuses.
int exit_dev_attach(struct exit_dev* e, void (*on_exit)(void* ctx, uint8_t status), void* ctx,
                    struct io_bus* bus);

#endif  // ZXHV_TOOLS_DEV_EXIT_H_
