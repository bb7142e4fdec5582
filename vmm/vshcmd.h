/* `vmm sh SOCK [-- CMD [ARG]...]`: the host half of vsh (docs/AGENTS.md
 * "vsh"). Asks the VM's control socket for OpenShell, then speaks the vsh
 * stream (proto/vsh.h) with the guest's vshd over that connection. */
#ifndef VMM_VSHCMD_H
#define VMM_VSHCMD_H

/* argv: what follows SOCK (and -T), i.e. nothing or "--" CMD ARG...
 * Returns the process exit code: the remote command's status (128+N when a
 * signal N killed it), or CTLCMD_EXIT_* for local failures (ctlcmd.h). With
 * a terminal on stdin it is put in raw mode and restored before returning,
 * on every path. */
int vshcmd_main(const char *sock, int argc, char **argv, int timeout_ms);
#endif
