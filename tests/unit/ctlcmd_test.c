/* Host-side control commands (vmm/ctlcmd.c) against a fake control socket
 * served by a forked child with the real RPC framing: what the guest sends
 * is hostile, and whatever of it reaches the operator's terminal must not
 * be able to drive that terminal (escape sequences, control characters). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/maitred.h"
#include "tests/unit/t.h"
#include "vmm/ctlcmd.h"

/* An OSC title change, a screen clear, BEL, a carriage return hiding what
 * came before, DEL, a raw C1 CSI byte and a stray UTF-8 byte. */
#define EVIL "web\x1b]0;pwned\x07\x1b[2J\rok\x7f\x9b" "6n\xc3"

static char dir[64], sock[128];

static uint32_t get_info(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	maitred_GetInfoResponse *r = resp;
	static unsigned calls;

	if (calls++ == 1) {
		rpc_status_set(st, RPC_INTERNAL, "%s", EVIL);
		return RPC_INTERNAL;
	}
	strcpy(r->hostname, EVIL);
	strcpy(r->kernel_release, "6.1.0" EVIL);
	strcpy(r->kernel_version, "#1 SMP\n" EVIL);
	strcpy(r->init_version, EVIL);
	return RPC_OK;
}

/* Serve `n` connections, one after the other, then exit. */
static pid_t fake_vmm(int n)
{
	static const struct rpc_method methods[] = {
		{ &proto_maitred_methods[PROTO_MAITRED_GET_INFO], get_info },
	};
	static const struct rpc_server srv = { .methods = methods, .n_methods = 1, .io_timeout_ms = 5000 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0);
	pid = fork();
	if (pid == 0) {
		alarm(20);
		for (int i = 0; i < n; i++) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				_exit(1);
			rpc_server_serve(&srv, fd);
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* Run `vmm CMD SOCK` with stdout and stderr captured into out/err. */
static int run_cmd(const char *cmd, char *out, char *err, size_t cap)
{
	char *argv[] = { "vmm", (char *)cmd, sock, NULL };
	int po[2], pe[2], so, se, rc;
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	CHECK(pipe(po) == 0 && pipe(pe) == 0);
	so = dup(1);
	se = dup(2);
	dup2(po[1], 1);
	dup2(pe[1], 2);
	rc = ctlcmd_main(3, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(po[1]);
	close(pe[1]);
	n = read(po[0], out, cap - 1);
	out[n > 0 ? n : 0] = 0;
	n = read(pe[0], err, cap - 1);
	err[n > 0 ? n : 0] = 0;
	close(po[0]);
	close(pe[0]);
	return rc;
}

/* Only printable ASCII and newlines reach the terminal. */
static bool terminal_safe(const char *s)
{
	for (; *s; s++)
		if (*s != '\n' && ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f))
			return false;
	return true;
}

static void info_escapes_guest_strings(void)
{
	static char out[8192], err[8192];
	int status;
	pid_t pid = fake_vmm(2);

	CHECK_EQ(run_cmd("info", out, err, sizeof(out)), 0);
	CHECK(terminal_safe(out));
	CHECK(strstr(out, "hostname: web\\x1b]0;pwned\\x07\\x1b[2J\\rok\\x7f\\x9b6n\\xc3\n") != NULL);
	CHECK(strstr(out, "kernel_version: #1 SMP\\nweb\\x1b]0;") != NULL);
	CHECK(strstr(out, "kernel_release: 6.1.0web\\x1b") != NULL);
	CHECK(strstr(out, "init_version: web\\x1b") != NULL);
	/* The guest's error message on stderr too (the RPC layer already
	 * masks its control bytes; escaped again here, harmlessly). */
	CHECK_EQ(run_cmd("info", out, err, sizeof(out)), CTLCMD_EXIT_FAILURE);
	CHECK(terminal_safe(err));
	CHECK(strstr(err, "pwned") != NULL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(sock);
}

int main(void)
{
	t_suite = "ctlcmd";
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/ctlcmd_test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/c.sock", dir);
	RUN(info_escapes_guest_strings);
	rmdir(dir);
	return t_done();
}
