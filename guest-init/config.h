/* guest-init configuration: everything init does is decided by the kernel
 * command line (init.* keys plus root=, rootfstype=, rootflags=, ip=, init=,
 * and the vmm's appvm.* announcements). The struct owns fixed-size copies of
 * every value, so it never points into the buffer it was parsed from. */
#ifndef APPVM_INIT_CONFIG_H
#define APPVM_INIT_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INIT_PATH_MAX 256
#define INIT_ARGS_MAX 1024
#define INIT_MOUNTS_MAX 16
#define INIT_MODULES_MAX 512
/* x86 COMMAND_LINE_SIZE is 2048; accept twice that from other setups. */
#define INIT_CMDLINE_MAX 4096

enum init_on_exit {
	INIT_EXIT_POWEROFF,
	INIT_EXIT_REBOOT,
	INIT_EXIT_STAY,
};

/* One init.mount= entry: DEV:DIR[:FSTYPE[:OPTS]]. An empty fstype means
 * "detect from the superblock". */
struct init_mount_spec {
	char src[128];
	char dir[128];
	char fstype[32];
	char opts[256];
};

/* ip=client-ip:server-ip:gw-ip:netmask:hostname:device:autoconf[:...]
 * (Documentation/admin-guide/nfs/nfsroot.rst). Addresses in network order. */
struct init_ip {
	bool set;
	uint32_t addr;
	uint32_t gw;
	uint32_t mask;
	char hostname[65];
	char dev[16];
};

struct init_config {
	char app[INIT_PATH_MAX];
	char args[INIT_ARGS_MAX];
	char env[INIT_ARGS_MAX];
	char user[64];
	char workdir[INIT_PATH_MAX];
	enum init_on_exit on_app_exit;
	unsigned shutdown_timeout_ms;
	char modules[INIT_MODULES_MAX];
	struct init_mount_spec mounts[INIT_MOUNTS_MAX];
	unsigned n_mounts;
	char hostname[65];
	int loglevel;
	char services_dir[INIT_PATH_MAX];
	char crash_collector[INIT_PATH_MAX];
	unsigned root_timeout_ms;
	/* Standard kernel keys. */
	char root[128];
	char rootfstype[32];
	char rootflags[256];
	char init_path[INIT_PATH_MAX];
	struct init_ip ip;
	char console[64];
	/* Announced by vmm; -1 when absent (then no port is ever touched). */
	int exit_port;
	int boot_port;
	/* Maitred RPC service (guest-init/maitred.h): init.rpc= -1 auto (on
	 * when vmm announced itself with appvm.exit_port=), 0 off, 1 on;
	 * init.rpc_port= its vsock port. */
	int rpc;
	uint32_t rpc_port;
	/* Guest agents (guest-init/agents.h, docs/AGENTS.md): init.agents= -1
	 * auto (start each agent whose host endpoint vmm announced), 0 off;
	 * appvm.syslog= the log endpoint's vsock port (0: not announced). */
	int agents;
	uint32_t syslog_port;
	char vm_syslog[INIT_PATH_MAX];
	uint64_t syslog_buffer;	/* bytes vm_syslog keeps while the host is away */
};

/* Receives one human-readable warning naming the key, the problem and the
 * default used. The parser never stops on bad input. */
struct init_warn {
	void (*fn)(void *arg, const char *msg);
	void *arg;
};

/* Fill cfg with every default. */
void init_config_defaults(struct init_config *cfg);

/* Parse a kernel command line (len bytes, need not be NUL-terminated) into
 * cfg, which must hold defaults first. Unknown init.* keys and bad values are
 * reported through warn (may be NULL) and leave the default. Returns the
 * number of warnings. Arguments after "--" belong to init's argv and are
 * ignored, as the kernel does. */
int init_cmdline_parse(const char *buf, size_t len, struct init_config *cfg,
		       const struct init_warn *warn);

/* Call fn for every parameter of a kernel command line, tokenised like the
 * kernel's next_arg() (quotes removed; val is NULL for a bare flag), up to
 * "--". Returns 1 when the line was longer than INIT_CMDLINE_MAX and cut. */
int init_cmdline_each(const char *buf, size_t len,
		      void (*fn)(void *arg, const char *key, const char *val), void *arg);

/* Parse an ip= value. Returns 0, or -EINVAL with a reason in why (may be
 * NULL) for anything malformed or unsupported (dhcp). "off"/"none" give
 * ip->set == false and return 0. */
int init_ip_parse(const char *val, struct init_ip *ip, const char **why);

/* Parse one DEV:DIR[:FSTYPE[:OPTS]] entry. Returns 0 or -EINVAL (why set). */
int init_mount_spec_parse(const char *val, struct init_mount_spec *m, const char **why);

/* Split a word list (whitespace separated; '...' literal, "..." grouping,
 * backslash escapes the next character outside single quotes) into argv
 * pointers that point into buf (a copy is written there). Returns the word
 * count, -EINVAL for an unterminated quote or trailing backslash, -E2BIG when
 * more than max-1 words or more than bufn bytes. argv[count] = NULL. */
int init_split_words(const char *s, char *buf, size_t bufn, char **argv, int max);

/* Write cfg as "key=value" lines (the --print-config output). */
void init_config_print(const struct init_config *cfg, int fd);
#endif
