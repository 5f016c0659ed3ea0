# The devices of `zxhv run` that guests reach, for the programs that compile them in to drive
# them directly without KVM: tests/devices_test.c and the device fuzzer (fuzz/device_fuzzer.c).
# Sets ZXHV_DEVICE_SOURCES (absolute paths) and ZXHV_DEVICE_DIR (for their headers).
set(ZXHV_DEVICE_DIR ${CMAKE_CURRENT_LIST_DIR})
set(ZXHV_DEVICE_SOURCES dev_io.c dev_uart.c dev_exit.c dev_pit.c dev_legacy.c dev_term.c
    dev_virtqueue.c dev_virtio_con.c)
list(TRANSFORM ZXHV_DEVICE_SOURCES PREPEND ${ZXHV_DEVICE_DIR}/)
