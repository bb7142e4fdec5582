/* x86_64 guest physical layout used at boot (all below 1 MiB except the
 * kernel). Documentation/x86/boot.rst: the zero page, command line and
 * initrd may live anywhere the kernel does not; keep them low and out of the
 * kernel's way. */
#ifndef VMM_X86_LAYOUT_H
#define VMM_X86_LAYOUT_H

#define X86_GDT_ADDR        0x500ULL
#define X86_IDT_ADDR        0x520ULL
#define X86_ZERO_PAGE       0x7000ULL
#define X86_BOOT_STACK      0x8ff0ULL
#define X86_PML4_ADDR       0x9000ULL
#define X86_PDPT_ADDR       0xa000ULL
#define X86_PD_ADDR         0xb000ULL   /* 4 page directories: 4 GiB of 2 MiB pages */
#define X86_CMDLINE_ADDR    0x20000ULL
#define X86_CMDLINE_MAX     4096U       /* our limit for ELF kernels (COMMAND_LINE_SIZE 2048 in 6.1) */
/* MP table at the end of base RAM, where Linux scans for "_MP_"
 * (Intel MP spec 1.4 §4: last KiB of base memory). */
#define X86_EBDA_START      0x9fc00ULL
#define X86_MPTABLE_ADDR    X86_EBDA_START
#define X86_BASE_RAM_END    0xa0000ULL
/* ACPI tables in the BIOS area, where Linux scans for the RSDP
 * (ACPI 6.4 §5.2.5.1: 0xe0000-0xfffff, 16-byte aligned). */
#define X86_ACPI_ADDR       0xe0000ULL
#define X86_ACPI_SIZE       0x10000ULL
#define X86_HIMEM_START     0x100000ULL  /* bzImage protected-mode code */
#define X86_BZIMAGE_ADDR    X86_HIMEM_START
#define X86_IOAPIC_ADDR     0xfec00000ULL
#define X86_LAPIC_ADDR      0xfee00000ULL
#define X86_TSS_ADDR        0xfffbd000ULL
#define X86_IDENTITY_ADDR   0xfffbc000ULL
/* virtio-mmio windows live in the 32-bit hole, away from IOAPIC/LAPIC. */
#define X86_VIRTIO_MMIO_BASE 0xd0000000ULL
#define X86_VIRTIO_MMIO_SIZE 0x1000ULL
#define X86_IOAPIC_PINS     24
#endif
