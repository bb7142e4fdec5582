/* Command-line parsing for `vmm [run] ...` into struct vmm_config.
 * Pure: no I/O, no globals, so it is unit-tested directly. */
#ifndef VMM_CLI_H
#define VMM_CLI_H
#include <stddef.h>

#include "vmm/config.h"

enum cli_result {
	CLI_RUN = 0,      /* cfg is complete: run the VM */
	CLI_HELP = 1,     /* --help: print cli_usage(), exit 0 */
	CLI_VERSION = 2,  /* --version */
};

struct cli {
	struct vmm_config cfg;
	char params[4096];   /* storage for the joined -p values */
};

/* Parse argv (argv[0] is the program). Returns enum cli_result or -EINVAL
 * with a one-line message in err naming the option and the problem. */
int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen);
const char *cli_usage(void);
#endif
