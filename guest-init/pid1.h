/* PID 1 proper: boot sequence, event loop, reaping, app lifecycle and
 * shutdown. init_pid1_run never returns. */
#ifndef APPVM_INIT_PID1_H
#define APPVM_INIT_PID1_H

_Noreturn void init_pid1_run(void);

/* Map a wait status to the status reported to the host: the exit code, or
 * 128 + signal number for a killed process (the shell convention). */
int init_pid1_status(int wstatus);
#endif
