// zxhv: the virtio-mmio (version 2) register layout and device status bits, virtio 1.1 §4.2.2 and
// §2.1. Shared by the VMM's console (dev_virtio_con.c) and the example guests' driver
// (guests/lib/virtio.c, built freestanding): constants only.
#ifndef ZXHV_TOOLS_VIRTIO_MMIO_H_
#define ZXHV_TOOLS_VIRTIO_MMIO_H_

enum {
    REG_MAGIC = 0x000,
    REG_VERSION = 0x004,
    REG_DEVICE_ID = 0x008,
    REG_VENDOR_ID = 0x00c,
    REG_DEVICE_FEATURES = 0x010,
    REG_DEVICE_FEATURES_SEL = 0x014,
    REG_DRIVER_FEATURES = 0x020,
    REG_DRIVER_FEATURES_SEL = 0x024,
    REG_QUEUE_SEL = 0x030,
    REG_QUEUE_NUM_MAX = 0x034,
    REG_QUEUE_NUM = 0x038,
    REG_QUEUE_READY = 0x044,
    REG_QUEUE_NOTIFY = 0x050,
    REG_INTERRUPT_STATUS = 0x060,
    REG_INTERRUPT_ACK = 0x064,
    REG_STATUS = 0x070,
    REG_QUEUE_DESC_LOW = 0x080,
    REG_QUEUE_DESC_HIGH = 0x084,
    REG_QUEUE_DRIVER_LOW = 0x090,
    REG_QUEUE_DRIVER_HIGH = 0x094,
    REG_QUEUE_DEVICE_LOW = 0x0a0,
    REG_QUEUE_DEVICE_HIGH = 0x0a4,
    REG_CONFIG_GENERATION = 0x0fc,
};

#define VIRTIO_MMIO_MAGIC 0x74726976u  // "virt"
#define STATUS_ACKNOWLEDGE 1u
#define STATUS_DRIVER 2u
#define STATUS_DRIVER_OK 4u
#define STATUS_FEATURES_OK 8u
#define STATUS_DEVICE_NEEDS_RESET 64u
#define STATUS_FAILED 128u

#endif  // ZXHV_TOOLS_VIRTIO_MMIO_H_
