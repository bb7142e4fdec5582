/* Host-side control commands: `vmm stop|status|exec|shutdown|info|set-time|
 * mount SOCK ...`, talking to a running vmm's control socket. */
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

/* 1 if argv[1] names a control command. */
int ctlcmd_is(const char *name);
/* Run it; returns the process exit code. */
int ctlcmd_main(int argc, char **argv);
#endif
