#include "vmm/mapio.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Signal state, the one kind of mutable global house style allows: the
 * copy in flight on this thread (where the handler jumps back to), and
 * what SIGBUS did before mapio_init (where faults outside a copy go). */
static __thread sigjmp_buf *mapio_jmp;
static struct sigaction mapio_prev;
static int mapio_installed;

/* SA_NODEFER: SIGBUS is not added to the mask while the handler runs, so
 * jumping out of it leaves the mask as it was and siglongjmp needs no
 * rt_sigprocmask (sigsetjmp(.., 0)): a jailed device process's seccomp
 * policy allows no signal syscalls (not even rt_sigreturn). */
static void mapio_sigbus(int sig)
{
	static const char msg[] = "vmm: SIGBUS outside a copy of a mapped file\n";
	sigjmp_buf *jb = mapio_jmp;

	(void)sig;
	if (jb) {
		mapio_jmp = NULL;
		siglongjmp(*jb, 1);
	}
	/* Not a mapio_copy: a bug. Say so (a jailed device process's policy
	 * allows no signal syscalls: it dies at the sigaction, and this line
	 * says why), then the previous action (default: die with a core)
	 * takes the fault when the instruction runs again. */
	(void)!write(2, msg, sizeof(msg) - 1);
	sigaction(SIGBUS, &mapio_prev, NULL);
}

int mapio_init(void)
{
	struct sigaction sa = { .sa_handler = mapio_sigbus, .sa_flags = SA_NODEFER };

	if (__atomic_exchange_n(&mapio_installed, 1, __ATOMIC_ACQ_REL))
		return 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &mapio_prev) < 0) {
		__atomic_store_n(&mapio_installed, 0, __ATOMIC_RELEASE);
		return -errno;
	}
	return 0;
}

int mapio_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return -EIO;
	mapio_jmp = &jb;
	/* The handler runs on this thread: compiler barriers suffice to keep
	 * the copy between setting and clearing the jump target. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, n);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mapio_jmp = NULL;
	return 0;
}
