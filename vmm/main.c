/* vmm: entry point. Parses the command line, puts the terminal in raw mode
 * for the serial console (restored on every exit path), runs the VM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/ctlcmd.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#ifndef APPVM_VERSION
#define APPVM_VERSION "0.1"
#endif

/* Terminal state for restoring from a fatal-signal handler: set once before
 * the VM starts, read-only afterwards. */
static struct termios main_saved_tty;
static volatile sig_atomic_t main_tty_raw;

static void main_tty_restore(void)
{
	if (main_tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &main_saved_tty);
		main_tty_raw = 0;
	}
}

static void main_fatal_signal(int sig)
{
	main_tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void main_tty_raw_mode(void)
{
	struct termios t;
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT };

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &main_saved_tty) < 0)
		return;
	t = main_saved_tty;
	/* Raw input so every key (Ctrl-C included) reaches the guest; keep
	 * output post-processing off too: the guest sends its own CR LF. */
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;  /* our own log lines end in a bare LF */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return;
	main_tty_raw = 1;
	atexit(main_tty_restore);
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa = { .sa_handler = main_fatal_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(fatal[i], &sa, NULL);
	}
}

int main(int argc, char **argv)
{
	struct timespec ts;
	struct cli *c = calloc(1, sizeof(*c));
	char err[512];
	uint64_t start_ns;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	start_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (!c) {
		fprintf(stderr, "vmm: out of memory\n");
		return VMM_EXIT_FAILURE;
	}
	if (argc > 1 && ctlcmd_is(argv[1])) {
		signal(SIGPIPE, SIG_IGN);
		rc = ctlcmd_main(argc, argv);
		free(c);
		return rc;
	}
	rc = cli_parse(c, argc, argv, err, sizeof(err));
	if (rc == CLI_HELP) {
		char *text;
		size_t n = cli_usage(NULL, 0);
		if ((text = malloc(n + 1))) {
			cli_usage(text, n + 1);
			fputs(text, stdout);
			free(text);
		}
		free(c);
		return text ? VMM_EXIT_OK : VMM_EXIT_FAILURE;
	}
	if (rc == CLI_VERSION) {
		printf("vmm %s\n", APPVM_VERSION);
		return VMM_EXIT_OK;
	}
	if (rc < 0) {
		fprintf(stderr, "vmm: %s\n", err);
		return VMM_EXIT_USAGE;
	}
	log_level = c->cfg.verbose < 0 ? LOG_ERR : LOG_INFO + c->cfg.verbose;
	/* A serial console on a closed pipe must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (c->cfg.serial == SERIAL_STDIO)
		main_tty_raw_mode();
	rc = vm_run(&c->cfg, start_ns);
	main_tty_restore();
	free(c);
	return rc;
}
