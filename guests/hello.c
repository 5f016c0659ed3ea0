// hello: the smallest guest. Greets through the UART and exits with status 0.
#include "rt.h"

int main(void) {
    kprintf("Hello from a zxhv guest!\n");
    kprintf("hello: running on the CPU with x2APIC ID %u\n", apic_id());
    return 0;
}
