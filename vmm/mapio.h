/* Copies to and from a file mapping that fail with -EIO instead of killing
 * the process. Touching a MAP_SHARED file mapping raises SIGBUS where a
 * read(2)/write(2) would have returned an error: a page the file no longer
 * has (another process shrank it), a write the filesystem cannot place
 * (ENOSPC in a hole, quota) or a disk read error (mmap(2), "SIGBUS").
 * A disk image served from a mapping must turn those into an I/O error for
 * the guest, never into the death of its device process.
 *
 * mapio_init installs a SIGBUS handler for the process (once; it keeps the
 * previous action for faults outside a mapio_copy). mapio_copy is
 * thread-safe: each thread has its own copy in flight. */
#ifndef VMM_MAPIO_H
#define VMM_MAPIO_H
#include <stddef.h>

/* 0, or -errno from sigaction. */
int mapio_init(void);
/* memcpy(dst, src, n); -EIO if either side raised SIGBUS (part of dst may
 * have been written), else 0. Needs mapio_init first. */
int mapio_copy(void *dst, const void *src, size_t n);

#endif
