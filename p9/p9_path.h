/* p9 path resolution: the only way the server turns a guest-chosen name
 * into a host fd. Every resolution starts at a directory fd the server
 * owns (a share's root) and never follows a symbolic link in any component,
 * including the last, never crosses above the start ("..", absolute paths
 * and magic links are refused), and never opens a device node, FIFO or
 * socket. See docs/P9.md "Security model". */
#ifndef APPVM_P9_PATH_H
#define APPVM_P9_PATH_H
#include <stddef.h>
#include <sys/stat.h>

/* Longest relative path a fid may name (bytes, without the NUL). */
#define P9_PATH_MAX 4095

/* 0 when name[0..len) is one component the guest may use: 1..P9_NAME_MAX
 * bytes, no '/', no NUL, not "." or "..". -ENAMETOOLONG or -EINVAL. */
int p9_path_name_ok(const char *name, size_t len);

/* 1 when openat2() with RESOLVE_BENEATH works on this kernel. */
int p9_path_have_openat2(void);

/* Opens rel ("" = dirfd itself; components joined by single '/', each one
 * passing p9_path_name_ok) beneath dirfd with flags | O_NOFOLLOW |
 * O_CLOEXEC. With use_openat2: one openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS); otherwise a walk that opens
 * each directory with O_PATH | O_NOFOLLOW | O_DIRECTORY. Returns the fd or
 * -errno (-ELOOP or -ENOTDIR when a component is a symlink). */
int p9_path_open(int dirfd, const char *rel, int flags, mode_t mode, int use_openat2);

/* Opens a regular file or directory for I/O: resolves rel with O_PATH,
 * refuses anything else (-ELOOP for a symlink, -ENXIO for devices, FIFOs,
 * sockets) before any real open, then opens it with flags (O_NONBLOCK while
 * opening, so a file swapped for a FIFO meanwhile cannot block) and checks
 * the opened inode is the one inspected (-EAGAIN if not). Fills *st. */
int p9_path_open_obj(int dirfd, const char *rel, int flags, int use_openat2, struct stat *st);
#endif
