#include "vmm/usock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"

int usock_bind_private(int fd, const struct sockaddr_un *sa)
{
	int e;

	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return -errno;
	if (chmod(sa->sun_path, 0600) < 0) {
		e = -errno;
		unlink(sa->sun_path);
		return e;
	}
	return 0;
}

bool usock_peer_ok(int fd, const char *what)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		log_guest("%s: cannot identify a client (%s); refused", what, strerror(errno));
		return false;
	}
	if (cr.uid == geteuid() || cr.uid == 0)
		return true;
	log_guest("%s: refused a client running as uid %u (pid %d): only vmm's own uid (%u) and root may connect", what,
		  (unsigned)cr.uid, (int)cr.pid, (unsigned)geteuid());
	return false;
}
