// Compiled outside the build, with only -Iinclude and build/libzxhv.a -lpthread, as a user would
// (issue: "A C file that includes ... compiles with -Iinclude and links against libzxhv.a").
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    zx_handle_t root = ZX_HANDLE_INVALID;
    zx_handle_t port = ZX_HANDLE_INVALID;
    if (zxhv_root_resource_get(&root) != ZX_OK) return 1;
    if (zx_port_create(0, &port) != ZX_OK) return 2;
    zx_port_packet_t packet;
    memset(&packet, 0, sizeof(packet));
    packet.key = 42;
    if (zx_port_queue(port, &packet) != ZX_OK) return 3;
    memset(&packet, 0, sizeof(packet));
    if (zx_port_wait(port, ZX_TIME_INFINITE, &packet) != ZX_OK || packet.key != 42) return 4;
    if (zx_vmar_root_self() == ZX_HANDLE_INVALID) return 5;
    if (strcmp(zx_status_get_string(ZX_ERR_BAD_HANDLE), "ZX_ERR_BAD_HANDLE") != 0) return 6;
    zx_handle_close(port);
    zx_handle_close(root);
    printf("public headers: ok (zxhv %s)\n", zxhv_version());
    return 0;
}
