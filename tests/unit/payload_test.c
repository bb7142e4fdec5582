/* bzImage payload unpacking: an xz stream followed by its unpacked size,
 * as arch/x86/boot/compressed/Makefile packs it; corrupt and lying
 * payloads are refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lzma.h>

#include "tests/unit/t.h"
#include "vmm/arch/x86_64/payload.h"
#include "vmm/log.h"

/* in -> xz (CRC32, as the kernel's xz_wrap.sh) + le32 size; returns the length. */
static size_t pack(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t pos = 0;

	if (lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, in, len, out, &pos, cap - 4) != LZMA_OK)
		abort();
	for (int i = 0; i < 4; i++)
		out[pos++] = (uint8_t)(len >> (8 * i));
	return pos;
}

static uint8_t plain[256 * 1024], packed[300 * 1024], out[300 * 1024];

static size_t setup(void)
{
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i % 251 ^ i >> 12);
	return pack(plain, sizeof(plain), packed, sizeof(packed));
}

static void unpacks(void)
{
	size_t n = setup();

	CHECK_EQ(payload_size(packed, n), sizeof(plain));
	memset(out, 0, sizeof(out));
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(out)), 0);
	CHECK(!memcmp(out, plain, sizeof(plain)));
	/* cap exactly the size is enough; less is refused before decoding. */
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(plain)), 0);
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(plain) - 1), -EINVAL);
}

static void not_xz(void)
{
	size_t n = setup();

	packed[0] = 0x1f;  /* gzip's first byte */
	CHECK_EQ(payload_size(packed, n), 0);
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(out)), -ENOTSUP);
	CHECK_EQ(payload_size(packed, 3), 0);
	CHECK_EQ(payload_unpack(packed, 0, out, sizeof(out)), -ENOTSUP);
}

static void corrupt_refused(void)
{
	size_t n = setup();

	/* A flipped byte in the compressed data: bad data or a failed CRC. */
	packed[n / 2] ^= 0x40;
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(out)), -EINVAL);
	packed[n / 2] ^= 0x40;
	/* Stream cut short (size trailer moved up). */
	memmove(packed + n - 40, packed + n - 4, 4);
	CHECK_EQ(payload_unpack(packed, n - 36, out, sizeof(out)), -EINVAL);
	n = setup();
	/* A size trailer that lies, either way. */
	packed[n - 4] ^= 1;
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(out)), -EINVAL);
	packed[n - 4] ^= 1;
	packed[n - 3] -= 1;
	CHECK_EQ(payload_unpack(packed, n, out, sizeof(out)), -EINVAL);
	n = setup();
	/* Bytes between the stream and the size. */
	memmove(packed + n, packed + n - 4, 4);
	memset(packed + n - 4, 0x55, 4);
	CHECK_EQ(payload_unpack(packed, n + 4, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	t_suite = "payload";
	log_level = -1;
	RUN(unpacks);
	RUN(not_xz);
	RUN(corrupt_refused);
	return t_done();
}
