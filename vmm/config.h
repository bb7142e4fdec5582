/* The parsed command line of `vmm run`: plain data, no resources. The core's
 * own options live here; every device's options live in that device's own
 * config (struct device_ops cfg_size), reached through dev_cfg. */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H
#include <stdbool.h>
#include <stdint.h>

#define VMM_MAX_VCPUS 16
/* Entries of the device table (vmm/devices/table.c) at most. */
#define VMM_MAX_DEVICE_TYPES 16

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };
/* --serial file:PATH[,max=SIZE]: the default SIZE. */
#define VMM_SERIAL_MAX_DEFAULT (16ULL << 20)
/* --syslog: where the guest's log records go (vmm/services/logsvc.h). */
enum syslog_mode { SYSLOG_NONE, SYSLOG_STDERR, SYSLOG_FILE, SYSLOG_HOST };

struct vmm_config {
	const char *kernel;
	const char *initrd;
	const char *params;       /* user's kernel command line (appended) */
	uint64_t mem_mib;         /* default 256 */
	int hugepages;            /* enum gm_pages (vmm/gm.h), --hugepages; default THP */
	bool hugepages_set;       /* given explicitly: warn when it cannot take effect */
	unsigned vcpus;           /* default 1 */
	enum serial_mode serial;
	const char *serial_path;  /* SERIAL_FILE */
	uint64_t serial_max;      /* SERIAL_FILE: bytes before rotating to PATH.1 */
	bool pit;                 /* --pit: in-kernel i8254 for guests without kvmclock */
	const char *socket_path;  /* -s/--socket control socket */
	enum syslog_mode syslog;  /* --syslog; SYSLOG_NONE: no log endpoint */
	const char *syslog_path;  /* SYSLOG_FILE: the file; SYSLOG_HOST: the socket (NULL: /dev/log) */
	const char *crash_dir;    /* --crash-dir; NULL: no crash endpoint */
	const char *name;         /* --name; NULL: vm-<pid> */
	int verbose;
	/* --disable-sandbox: virtio devices run as threads of vmm instead of
	 * jailed processes (docs/SANDBOX.md); no seccomp filter on vmm. */
	bool disable_sandbox;
	/* --seccomp-policy-dir: DIR/<name>.policy instead of the embedded
	 * policies (crosvm's option); NULL: embedded. */
	const char *seccomp_policy_dir;
	/* dev_cfg[i]: the parsed options of device_table[i] (NULL: defaults
	 * were never set up, the device is skipped). */
	const void *dev_cfg[VMM_MAX_DEVICE_TYPES];
};
#endif
