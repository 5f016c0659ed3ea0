// console: a virtio console (virtio-mmio at 0xfeb00000, tools/zxhv/platform.h). Writes a greeting
// through the transmit queue, then echoes every line that arrives on the receive queue. A line
// "quit" (or a Ctrl-D) ends the run with status 0, "exit N" with status N. Doorbells go through
// the BELL page (0xfeb01000 + 4 * queue). The device raises no interrupts, so the guest polls its
// used rings on a 10 ms x2APIC timer tick and halts in between.
#include "rt.h"
#include "virtio.h"

#define CONSOLE_REGS 0xfeb00000u  // PLAT_VIRTIO_CON_BASE
#define CONSOLE_BELL 0xfeb01000u  // PLAT_VIRTIO_CON_BELL
#define VIRTIO_ID_CONSOLE 3u
#define QUEUE_RX 0u
#define QUEUE_TX 1u
#define RX_BUFFERS 8u
#define RX_BUFFER_SIZE 64u
#define POLL_NS 10000000ull  // 10 ms
#define VECTOR_POLL 0x30
#define CTRL_D 0x04

static struct virtq_memory rx_memory, tx_memory;
static struct virtq rx, tx;
static uint8_t rx_buffers[RX_BUFFERS][RX_BUFFER_SIZE];
static uint8_t tx_buffer[256];

static void on_poll(struct interrupt_frame* f) {
    (void)f;
    apic_eoi();
}

// Sends |len| bytes and waits until the device has taken them.
static void console_write(const char* s, size_t len) {
    while (len > 0) {
        size_t n = len < sizeof(tx_buffer) ? len : sizeof(tx_buffer);
        memcpy(tx_buffer, s, n);
        virtq_post(&tx, 0, tx_buffer, (uint32_t)n, false);
        virtq_notify(&tx);
        uint16_t desc;
        uint32_t written;
        while (!virtq_take_used(&tx, &desc, &written)) wait_for_interrupt();
        s += n;
        len -= n;
    }
}

static void console_print(const char* s) { console_write(s, strlen(s)); }

// What a complete line asks for: an exit status, or -1 to go on.
static int command(const char* line) {
    if (strlen(line) == 4 && memcmp(line, "quit", 4) == 0) return 0;
    if (memcmp(line, "exit ", 5) == 0 && line[5] != '\0') {
        int status = 0;
        for (const char* p = line + 5; *p; p++) {
            if (*p < '0' || *p > '9' || status > 255) return -1;
            status = status * 10 + (*p - '0');
        }
        return status <= 255 ? status : -1;
    }
    return -1;
}

static char line[128];
static size_t line_len;
static bool after_cr;  // "\r\n" is one line end

// Echoes one received chunk and acts on the lines it completes. Returns an exit status, or -1.
static int receive(const uint8_t* data, uint32_t len) {
    char echo[2 * RX_BUFFER_SIZE];
    size_t echo_len = 0;
    int status = -1;
    for (uint32_t i = 0; i < len && status < 0; i++) {
        char c = (char)data[i];
        bool cr = after_cr;
        after_cr = c == '\r';
        if (c == '\n' && cr) continue;
        if (c == CTRL_D) {
            status = 0;
        } else if (c == '\r' || c == '\n') {
            echo[echo_len++] = '\n';
            line[line_len] = '\0';
            status = command(line);
            line_len = 0;
        } else {
            echo[echo_len++] = c;
            if (line_len + 1 < sizeof(line)) line[line_len++] = c;
        }
    }
    console_write(echo, echo_len);
    return status;
}

int main(void) {
    struct virtio_dev dev;
    const char* err = virtio_init(&dev, CONSOLE_REGS, CONSOLE_BELL, VIRTIO_ID_CONSOLE);
    if (err == NULL) err = virtio_queue_init(&dev, &rx, QUEUE_RX, &rx_memory);
    if (err == NULL) err = virtio_queue_init(&dev, &tx, QUEUE_TX, &tx_memory);
    if (err != NULL) panic("virtio console at 0x%x: %s", CONSOLE_REGS, err);
    virtio_driver_ok(&dev);
    kprintf("console: virtio console ready at 0x%x\n", CONSOLE_REGS);

    interrupt_register(VECTOR_POLL, on_poll);
    apic_timer_periodic(VECTOR_POLL, POLL_NS);
    for (uint16_t i = 0; i < RX_BUFFERS; i++)
        virtq_post(&rx, i, rx_buffers[i], RX_BUFFER_SIZE, true);
    virtq_notify(&rx);

    console_print("Hello from the virtio console! Lines you type come back; "
                  "\"quit\" ends, \"exit N\" ends with status N.\n");
    int status = -1;
    while (status < 0) {
        uint16_t desc;
        uint32_t len;
        if (!virtq_take_used(&rx, &desc, &len)) {
            wait_for_interrupt();
            continue;
        }
        if (desc >= RX_BUFFERS || len > RX_BUFFER_SIZE)
            panic("bad used buffer %u (%u bytes)", desc, len);
        status = receive(rx_buffers[desc], len);
        virtq_post(&rx, desc, rx_buffers[desc], RX_BUFFER_SIZE, true);
        virtq_notify(&rx);
    }
    char bye[48];
    ksnprintf(bye, sizeof(bye), "console: bye (exit status %d)\n", status);
    console_print(bye);  // still needs the poll tick: the device takes the buffer asynchronously
    apic_timer_stop();
    return status;
}
