/* One vsh session in vshd (docs/AGENTS.md "vsh"): read the host's OPEN,
 * start the command (a login shell when OPEN has no arguments) on a PTY or
 * on three pipes, relay stdin/stdout/stderr, window size and signals until
 * it exits, then send its remaining output and its exit status.
 *
 * Runs in a process of its own per connection (vshd forks it), so
 * everything the host sends is parsed where a bug can only end this one
 * connection. */
#ifndef APPVM_VSHD_SESSION_H
#define APPVM_VSHD_SESSION_H

struct vshd_opts {
	const char *shell;     /* login shell, run as argv[0] "-sh" (default /bin/sh) */
	int open_timeout_ms;   /* how long the host has to send OPEN */
	int drain_timeout_ms;  /* bound on sending the last output and EXIT */
};

/* Serve the connection sock (blocking or not; made non-blocking here; not
 * closed). The caller has SIGCHLD blocked and no other children. Returns 0
 * after EXIT was sent, -EPROTO when the host broke the protocol,
 * -ETIMEDOUT when OPEN did not come in time, -EPIPE/-ECONNRESET when the
 * host went away (the command is then hung up: SIGHUP), or -errno. */
int vshd_session_run(int sock, const struct vshd_opts *opts);
#endif
