/* Listening unix sockets that hand out control of the VM (-s PATH: Stop and
 * the guest's Maitred service; --vsock PATH: whoever sends CONNECT 8888 is,
 * to the guest, the host). Both are created mode 0600 and serve only our
 * own uid and root. */
#ifndef VMM_USOCK_H
#define VMM_USOCK_H
#include <stdbool.h>
#include <sys/un.h>

/* bind(fd, sa), then chmod the path to 0600 whatever the umask, before the
 * caller's listen(): until listen nobody can connect, so the umask's mode is
 * never usable. 0, or -errno (bind's, or chmod's with the path removed). */
int usock_bind_private(int fd, const struct sockaddr_un *sa);

/* True when the peer of accepted unix socket fd runs as our effective uid
 * or as root (SO_PEERCRED, taken at connect). Otherwise logs one
 * rate-limited line naming `what` and the peer's uid and pid, and returns
 * false: the caller closes fd. */
bool usock_peer_ok(int fd, const char *what);
#endif
