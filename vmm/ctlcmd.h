/* Host-side control commands: `vmm stop|status|exec|shutdown|info|set-time|
 * mount|sh|share|unshare|configure-network SOCK ...`, talking to a running vmm's control socket. */
#ifndef VMM_CTLCMD_H
#define VMM_CTLCMD_H

/* Exit codes of the control commands (README "Control commands"). */
#define CTLCMD_EXIT_FAILURE   1   /* the request failed (message says why) */
#define CTLCMD_EXIT_USAGE     2
#define CTLCMD_EXIT_NOSOCK    3   /* no such control socket */
#define CTLCMD_EXIT_NOTRUN    4   /* socket exists but no VM answers */
#define CTLCMD_EXIT_NOGUEST   5   /* the guest's service did not answer in time */
#define CTLCMD_EXIT_NOTFOUND  127 /* exec: command not found in the guest */
#define CTLCMD_EXIT_NOEXEC    126 /* exec: found but not executable */

#define CTLCMD_EXIT_LOST      255 /* sh: connection ended without an exit status */

struct rpc_method_desc;
struct rpc_status;

/* 1 if argv[1] names a control command. */
int ctlcmd_is(const char *name);
/* Run it; returns the process exit code. */
int ctlcmd_main(int argc, char **argv);

/* For the commands in other files (vshcmd.c). */
/* Print "vmm: " + message + usage; returns CTLCMD_EXIT_USAGE. */
int ctlcmd_usage(const char *fmt, const char *arg);
/* Connect to the control socket: fd, or -(exit code) with a message printed. */
int ctlcmd_connect(const char *path);
/* One call on fd, mapping transport failures and statuses to exit codes: 0
 * when a response arrived (st says which), else the exit code, message
 * printed. fd stays open. */
int ctlcmd_call_fd(int fd, const char *sock, const struct rpc_method_desc *m, const void *req, void *resp,
		   int timeout_ms, struct rpc_status *st);
/* "1".."86400" seconds -> *ms; -1 when malformed. */
int ctlcmd_parse_secs(const char *s, int *ms);
#endif
