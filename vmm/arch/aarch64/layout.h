/* arm64 guest physical layout. RAM from 0x80000000 (as crosvm and
 * Firecracker); everything else below it:
 *   [0, 64 KiB)        the platform devices' port space (the 16550 at
 *                      0x3f8, the exit-status and boot-time registers), on
 *                      the MMIO bus as kvmtool's ARM_IOPORT_AREA at 0
 *   GIC                distributor and redistributors (or GICv2 CPU iface)
 *   PL031 RTC          one 4 KiB PrimeCell window, where QEMU's virt board
 *                      has it
 *   virtio-mmio        one 4 KiB window per device
 * Documentation/arm64/booting.rst: the kernel at a 2 MiB aligned base plus
 * text_offset, the DTB 8-byte aligned and at most 2 MiB, the initrd
 * anywhere outside the kernel's image_size. */
#ifndef VMM_AARCH64_LAYOUT_H
#define VMM_AARCH64_LAYOUT_H

#define A64_PORT_WINDOW      0x10000ULL
#define A64_GIC_DIST         0x08000000ULL
#define A64_GIC_DIST_SIZE    0x10000ULL    /* GICv3 GICD: 64 KiB */
#define A64_GIC_REDIST       0x080a0000ULL
#define A64_GIC_REDIST_SIZE  0x20000ULL    /* GICv3: RD_base + SGI_base frames per vCPU */
#define A64_GIC_V2_CPU       0x08010000ULL
#define A64_GIC_V2_CPU_SIZE  0x2000ULL
#define A64_GIC_V2_DIST_SIZE 0x1000ULL
#define A64_PL031_BASE       0x09010000ULL
#define A64_PL031_SIZE       0x1000ULL
/* Its SPI: below the first virtio GSI (5, vm.c) and apart from the ISA
 * numbers the port-window devices use (COM1 4, i8042 1, CMOS RTC 8). */
#define A64_PL031_SPI        2U
#define A64_VIRTIO_MMIO_BASE 0x0a000000ULL
#define A64_VIRTIO_MMIO_SIZE 0x1000ULL
#define A64_VIRTIO_MMIO_MAX  64U
#define A64_RAM_BASE         0x80000000ULL
/* KVM's default IPA space is 40 bits (api.rst KVM_CREATE_VM, machine type 0). */
#define A64_IPA_LIMIT        (1ULL << 40)
/* SPIs the vGIC gets (KVM_DEV_ARM_VGIC_GRP_NR_IRQS counts the 32 private
 * interrupts too; a multiple of 32). */
#define A64_GIC_NR_IRQS      128U
#define A64_GIC_NR_SPIS      (A64_GIC_NR_IRQS - 32U)
#define A64_FDT_MAX          0x200000ULL   /* booting.rst: the DTB must not exceed 2 MiB */
#define A64_KERNEL_ALIGN     0x200000ULL
#endif
