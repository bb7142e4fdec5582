/* Kernel modules from init.modules=: modules.dep resolution (dependencies
 * first, each module once) and finit_module(2) of .ko files (compressed ones
 * through MODULE_INIT_COMPRESSED_FILE when the kernel decompresses). */
#ifndef APPVM_INIT_MODULES_H
#define APPVM_INIT_MODULES_H
#include <stddef.h>

#define INIT_MOD_MAX 64

/* Load order: paths relative to the modules directory, as in modules.dep. */
struct init_mod_plan {
	int n;
	char path[INIT_MOD_MAX][160];
	char name[INIT_MOD_MAX][64];
};

/* "kernel/drivers/block/virtio_blk.ko" -> "virtio_blk" (the .ko suffix and
 * any compression suffix dropped). Returns 0 or -ENAMETOOLONG. */
int init_mod_basename(const char *path, char *name, size_t n);

/* Module names compare with '-' and '_' equal, as modprobe does. */
int init_mod_name_eq(const char *a, const char *b);

/* Append name and (first) its dependencies from a modules.dep buffer (dep,
 * len bytes) to plan, skipping modules already in it. Returns 0, -ENOENT when
 * name (or a dependency) is not listed, -ELOOP on a dependency cycle,
 * -E2BIG when the plan is full. On error *missing names the culprit (may be
 * NULL); the plan keeps what was added before the error. */
int init_mod_resolve(const char *dep, size_t len, const char *name,
		     struct init_mod_plan *plan, char *missing, size_t missing_n);

/* Collect "NAME.param=value" entries of a kernel command line into the
 * parameter string finit_module wants ("param=value ..."), since modprobe,
 * not the kernel, hands command-line parameters to loadable modules.
 * Returns 0 or -E2BIG. */
int init_mod_params(const char *cmdline, size_t len, const char *name, char *out, size_t n);

/* Does /lib/modules/<rel>/modules.builtin list name? */
int init_mod_builtin(const char *builtin, size_t len, const char *name);

/* Loader hook so tests can record the order instead of calling the kernel.
 * load returns 0 or -errno; -EEXIST counts as loaded. sys_module is where
 * loaded modules show up (NULL: /sys/module). */
struct init_mod_loader {
	int (*load)(void *arg, const char *path, const char *params);
	void *arg;
	const char *sys_module;
};

/* Load every module of the comma list `list` from moddir (e.g.
 * /lib/modules/6.1.0), with parameters from cmdline. loader may be NULL for
 * finit_module. Modules already present in /sys/module are skipped. Returns the
 * number of modules that failed (each logged naming it). */
int init_mod_load_list(const char *list, const char *moddir, const char *cmdline,
		       size_t cmdline_len, const struct init_mod_loader *loader);
#endif
