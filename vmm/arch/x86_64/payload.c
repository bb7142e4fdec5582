/* bzImage payload unpacking (payload.h) with the system's liblzma. */
#include "vmm/arch/x86_64/payload.h"

#include <errno.h>
#include <string.h>
#include <lzma.h>

/* The kernel packs with a 32 MiB dictionary (scripts/xz_wrap.sh); the
 * decoder's memory is bounded a little above that. */
#define PAYLOAD_MEMLIMIT (64ULL << 20)

static int payload_is_xz(const uint8_t *in, size_t len)
{
	/* xz file format 1.0.4 §2.1.1.1: header magic FD 37 7A 58 5A 00. */
	static const uint8_t magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };

	return len >= sizeof(magic) + 4 && !memcmp(in, magic, sizeof(magic));
}

size_t payload_size(const uint8_t *in, size_t len)
{
	if (!payload_is_xz(in, len))
		return 0;
	return (size_t)in[len - 4] | (size_t)in[len - 3] << 8 | (size_t)in[len - 2] << 16 |
	       (size_t)in[len - 1] << 24;
}

int payload_unpack(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	uint64_t memlimit = PAYLOAD_MEMLIMIT;
	size_t in_pos = 0, out_pos = 0, size = payload_size(in, len);
	lzma_ret r;

	if (!size)
		return -ENOTSUP;
	if (size > cap)
		return -EINVAL;
	/* One call over whole buffers; the stream's integrity check (CRC32 for
	 * the kernel) is verified. */
	r = lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &in_pos, len - 4, out, &out_pos, size);
	switch (r) {
	case LZMA_OK:
		break;
	case LZMA_MEMLIMIT_ERROR:
		return -EFBIG;
	case LZMA_MEM_ERROR:
		return -ENOMEM;
	default:
		/* LZMA_BUF_ERROR: more output than the size said, or input ended. */
		return -EINVAL;
	}
	if (in_pos != len - 4 || out_pos != size)
		return -EINVAL;
	return 0;
}
