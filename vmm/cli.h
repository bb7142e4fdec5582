/* Command-line parsing for `vmm [run] ...` into struct vmm_config: the
 * core's options here, every other option from the device table's option
 * lists (struct dev_option), parsed into storage inside struct cli.
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

/* Bytes for every device's parsed options together. */
#define CLI_DEV_CFG_BYTES 2048

struct cli {
	struct vmm_config cfg;
	char params[4096];   /* storage for the joined -p values */
	_Alignas(16) unsigned char dev_cfg[CLI_DEV_CFG_BYTES];  /* cfg.dev_cfg points here */
};

/* Parse argv (argv[0] is the program). Returns enum cli_result or -EINVAL
 * with a one-line message in err naming the option and the problem. */
int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen);
/* The help text into buf (NUL-terminated, truncated to len); returns its
 * full length, as snprintf does. */
size_t cli_usage(char *buf, size_t len);
/* The parsed options of the device named name ("virtio-blk"), or NULL. */
const void *cli_device_cfg(const struct cli *c, const char *name);
#endif
