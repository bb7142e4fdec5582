/* A bzImage's compressed payload (Documentation/x86/boot.rst, fields
 * payload_offset/payload_length, protocol 2.08+), unpacked on the host.
 *
 * Why: the kernel's own decompressor runs inside the guest, and under
 * nesting (or any instruction-emulating KVM) guest instructions are what
 * costs: unpacking an xz vmlinux there takes a large part of the boot, on
 * the host a few tens of milliseconds. The result is the kernel's ELF
 * vmlinux (plus, for relocatable kernels, its relocation table after it). */
#ifndef VMM_X86_PAYLOAD_H
#define VMM_X86_PAYLOAD_H
#include <stddef.h>
#include <stdint.h>

/* A payload is the compressed stream followed by the unpacked size as a
 * 32-bit little-endian number (arch/x86/boot/compressed/Makefile,
 * "_with_size"). The unpacked size if in[0..len) is a payload vmm can
 * unpack (an xz stream: what Kconfig's KERNEL_XZ packs), else 0. */
size_t payload_size(const uint8_t *in, size_t len);

/* Unpack the payload in[0..len) into out[0..cap), cap >= payload_size.
 * 0; -ENOTSUP (not a format vmm unpacks); -EINVAL (corrupt: bad stream,
 * failed integrity check, not exactly payload_size bytes, bytes between
 * the stream and the size); -EFBIG (more memory than the decoder may use);
 * -ENOMEM. The decoder's own state is freed before return. */
int payload_unpack(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
#endif
