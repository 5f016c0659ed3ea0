// zxhv run: the host terminal behind the guest's consoles (the UART and virtio-console). Guest
// output goes to stdout, line-buffered (a partial line is flushed after a short idle time); stdin
// bytes are read by a poller thread into a queue the consoles take from. When stdin is a tty it is
// put in raw mode (no echo, no line editing; Ctrl-C still signals the VMM) and restored on every
// exit path, including exit() and return from main.
#ifndef ZXHV_TOOLS_DEV_TERM_H_
#define ZXHV_TOOLS_DEV_TERM_H_

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERM_IN_SIZE 4096u
#define TERM_OUT_SIZE 4096u

struct term {
    pthread_mutex_t mu;  // guards everything below except the thread's own fds
    uint8_t in[TERM_IN_SIZE];
    size_t in_head, in_len;  // a ring of bytes read from stdin, not yet taken
    bool in_eof;             // stdin is at its end (or failed): nothing more will come
    uint8_t out[TERM_OUT_SIZE];
    size_t out_len;  // bytes of a line not yet written to stdout
    // Where output goes instead of stdout (term_init_sink); NULL: stdout.
    void (*sink)(void* ctx, const uint8_t* buf, size_t len);
    void* sink_ctx;
    // Called on the poller thread, without mu held, after new input arrived.
    void (*on_input)(void* ctx);
    void* on_input_ctx;
    int wake[2];  // a pipe that wakes the poller (stop, room in the queue)
    bool stop;
    bool started;
    pthread_t thread;
};

// Sets up |t|: raw mode if stdin is a tty. Starts no thread yet. Returns -1 on failure (errno).
int term_init(struct term* t);

// Sets up |t| without the host terminal: output goes to |sink| (called with the terminal's lock
// held, with whole lines and full buffers, as stdout would get them), stdin is never read (input
// comes only from term_feed) and no thread may be started. For tests and the device fuzzer.
int term_init_sink(struct term* t, void (*sink)(void* ctx, const uint8_t* buf, size_t len),
                   void* ctx);

// Starts the stdin poller thread. |on_input| (may be NULL) is told when bytes arrive.
int term_start(struct term* t, void (*on_input)(void* ctx), void* ctx);

// Stops the poller, writes pending output and restores the terminal. May block briefly.
void term_close(struct term* t);

// Queues guest output; a full line or a full buffer is written to stdout at once.
void term_write(struct term* t, const uint8_t* buf, size_t len);

// Writes any pending partial line to stdout.
void term_flush(struct term* t);

// True when at least one input byte is queued.
bool term_input_ready(struct term* t);

// Queues up to |len| input bytes as if read from stdin (what the queue has room for); returns
// how many. The caller tells the consoles (on_input) itself.
size_t term_feed(struct term* t, const uint8_t* buf, size_t len);

// Takes up to |max| queued input bytes into |buf|; returns how many (0: none now).
size_t term_read(struct term* t, uint8_t* buf, size_t max);

#endif  // ZXHV_TOOLS_DEV_TERM_H_
