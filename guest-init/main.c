/* build/guest/init: the guest's PID 1 (see docs/INIT.md). Run as anything
 * but PID 1 it only offers --print-config, to check a command line. */
#include "guest-init/config.h"
#include "guest-init/maitred.h"
#include "guest-init/pid1.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Exit codes outside PID 1 (s6 convention): 100 usage, 111 system failure. */
#define INIT_EXIT_USAGE 100
#define INIT_EXIT_SYS 111

static void main_warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "init: warning: %s\n", msg);
}

static int main_print_config(const char *path)
{
	static char buf[INIT_CMDLINE_MAX + 2];
	struct init_config cfg;
	struct init_warn w = { main_warn, NULL };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t have = 0;
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "init: %s: %s\n", path, strerror(errno));
		return INIT_EXIT_SYS;
	}
	while (have < sizeof(buf) - 1 && (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	init_config_defaults(&cfg);
	init_cmdline_parse(buf, have, &cfg, &w);
	init_config_print(&cfg, STDOUT_FILENO);
	return 0;
}

int main(int argc, char **argv)
{
	if (getpid() == 1) {
		/* The Maitred RPC service on vsock (guest-init/maitred.h). */
		static const struct init_pid1_hooks hooks = { init_maitred_start, NULL };

		init_pid1_run(&hooks);
	}
	if (argc >= 2 && !strcmp(argv[1], "--print-config") && argc <= 3)
		return main_print_config(argc == 3 ? argv[2] : "/proc/cmdline");
	fprintf(stderr, "usage: init (as PID 1)\n"
		"       init --print-config [CMDLINE_FILE]   parse a kernel command line, print the settings\n");
	return INIT_EXIT_USAGE;
}
