/* guest-init module loading: modules.dep resolution order, missing modules
 * and dependencies named, cycles, parameters from the command line, and the
 * load loop against a fake modules directory with a recording loader. */
#include "tests/unit/t.h"
#include "guest-init/modules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Shaped like Debian's: deps listed in the order modprobe would unload. */
static const char dep[] =
	"kernel/fs/squashfs/squashfs.ko:\n"
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/x/needs_ghost.ko: kernel/x/ghost.ko\n"
	"kernel/x/loop_a.ko: kernel/x/loop_b.ko\n"
	"kernel/x/loop_b.ko: kernel/x/loop_a.ko\n"
	"kernel/x/top.ko: kernel/x/mid.ko kernel/x/leaf.ko\n"
	"kernel/x/mid.ko: kernel/x/leaf.ko\n"
	"kernel/x/leaf.ko:";

static int index_of(const struct init_mod_plan *p, const char *name)
{
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->name[i], name))
			return i;
	return -1;
}

static void test_basename(void)
{
	char n[64];

	CHECK_EQ(init_mod_basename("kernel/drivers/block/virtio_blk.ko", n, sizeof(n)), 0);
	CHECK(!strcmp(n, "virtio_blk"));
	CHECK_EQ(init_mod_basename("a/b/zstd.ko.zst", n, sizeof(n)), 0);
	CHECK(!strcmp(n, "zstd"));
	CHECK_EQ(init_mod_basename("plain", n, sizeof(n)), 0);
	CHECK(!strcmp(n, "plain"));
	CHECK_EQ(init_mod_basename("a/abcdefgh.ko", n, 4), -ENAMETOOLONG);
	CHECK(init_mod_name_eq("virtio-rng", "virtio_rng"));
	CHECK(!init_mod_name_eq("virtio_rn", "virtio_rng"));
}

static void test_deps_first(void)
{
	struct init_mod_plan p = { 0 };

	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "virtio_blk", &p, NULL, 0), 0);
	CHECK_EQ(p.n, 3);
	CHECK(!strcmp(p.name[0], "virtio_ring"));
	CHECK(!strcmp(p.name[1], "virtio"));
	CHECK(!strcmp(p.name[2], "virtio_blk"));
	CHECK(!strcmp(p.path[2], "kernel/drivers/block/virtio_blk.ko"));
}

static void test_shared_deps_once(void)
{
	struct init_mod_plan p = { 0 };

	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "virtio_mmio", &p, NULL, 0), 0);
	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "virtio_blk", &p, NULL, 0), 0);
	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "virtio-rng", &p, NULL, 0), 0);
	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "squashfs", &p, NULL, 0), 0);
	CHECK_EQ(p.n, 6);
	CHECK(index_of(&p, "virtio_ring") < index_of(&p, "virtio"));
	CHECK(index_of(&p, "virtio") < index_of(&p, "virtio_mmio"));
	CHECK(index_of(&p, "virtio") < index_of(&p, "virtio_blk"));
	CHECK(index_of(&p, "virtio-rng") > index_of(&p, "virtio"));
	CHECK_EQ(index_of(&p, "squashfs"), 5);
}

static void test_transitive_order(void)
{
	struct init_mod_plan p = { 0 };

	/* top lists mid before leaf; mid itself needs leaf: leaf, mid, top. */
	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "top", &p, NULL, 0), 0);
	CHECK_EQ(p.n, 3);
	CHECK(!strcmp(p.name[0], "leaf"));
	CHECK(!strcmp(p.name[1], "mid"));
	CHECK(!strcmp(p.name[2], "top"));
}

static void test_missing_named(void)
{
	struct init_mod_plan p = { 0 };
	char missing[160];

	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "nosuch", &p, missing, sizeof(missing)), -ENOENT);
	CHECK(!strcmp(missing, "nosuch"));
	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "needs_ghost", &p, missing, sizeof(missing)),
		 -ENOENT);
	CHECK(!strcmp(missing, "kernel/x/ghost.ko"));
	CHECK_EQ(p.n, 0);
}

static void test_cycle(void)
{
	struct init_mod_plan p = { 0 };
	char missing[160];

	CHECK_EQ(init_mod_resolve(dep, strlen(dep), "loop_a", &p, missing, sizeof(missing)), -ELOOP);
	CHECK(strstr(missing, "loop_a"));
}

static void test_plan_full(void)
{
	static char big[INIT_MOD_MAX * 40 + 100];
	struct init_mod_plan p = { 0 };
	size_t o = 0;
	int r = 0;

	for (int i = 0; i <= INIT_MOD_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "m%d.ko:\n", i);
	for (int i = 0; i <= INIT_MOD_MAX && !r; i++) {
		char n[16];

		snprintf(n, sizeof(n), "m%d", i);
		r = init_mod_resolve(big, o, n, &p, NULL, 0);
	}
	CHECK_EQ(r, -E2BIG);
	CHECK_EQ(p.n, INIT_MOD_MAX);
}

static void test_params(void)
{
	const char *cmd = "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 "
			  "virtio-mmio.device=4K@0xd0001000:6 virtio_blk.queue_depth=4 "
			  "\"virtio_mmio.x=a b\" virtio_mmio.flag virtio_mmioX.no=1 -- virtio_mmio.after=1";
	char out[256];

	CHECK_EQ(init_mod_params(cmd, strlen(cmd), "virtio_mmio", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "device=4K@0xd0000000:5 device=4K@0xd0001000:6 x=\"a b\" flag"));
	CHECK_EQ(init_mod_params(cmd, strlen(cmd), "virtio_blk", out, sizeof(out)), 0);
	CHECK(!strcmp(out, "queue_depth=4"));
	CHECK_EQ(init_mod_params(cmd, strlen(cmd), "squashfs", out, sizeof(out)), 0);
	CHECK(!strcmp(out, ""));
	CHECK_EQ(init_mod_params(cmd, strlen(cmd), "virtio_mmio", out, 10), -E2BIG);
}

static void test_builtin(void)
{
	const char b[] = "kernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio.ko\n";

	CHECK(init_mod_builtin(b, strlen(b), "ext4"));
	CHECK(init_mod_builtin(b, strlen(b), "virtio"));
	CHECK(!init_mod_builtin(b, strlen(b), "virtio_blk"));
}

struct rec {
	int n;
	char calls[16][256];
	const char *fail;
};

static int rec_load(void *arg, const char *path, const char *params)
{
	struct rec *r = arg;

	if (r->n < 16)
		snprintf(r->calls[r->n++], sizeof(r->calls[0]), "%s|%s", path, params);
	if (r->fail && strstr(path, r->fail))
		return -ENOEXEC;
	return strstr(path, "virtio_ring") ? -EEXIST : 0;
}

static void mkmoddir(char *dir)
{
	char p[128];
	FILE *f;

	strcpy(dir, "/tmp/init_modules_test.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/modules.dep", dir);
	f = fopen(p, "w");
	fputs(dep, f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/modules.builtin", dir);
	f = fopen(p, "w");
	fputs("kernel/fs/ext4/ext4.ko\n", f);
	fclose(f);
}

static void rmmoddir(const char *dir)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/modules.dep", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/modules.builtin", dir);
	unlink(p);
	rmdir(dir);
}

static void test_load_list_order(void)
{
	char dir[64], want[256];
	struct rec r = { 0 };
	struct init_mod_loader l = { rec_load, &r, dir };
	const char *cmd = "virtio_mmio.device=4K@0xd0000000:5";

	mkmoddir(dir);
	CHECK_EQ(init_mod_load_list("virtio_mmio,ext4,virtio_blk", dir, cmd, strlen(cmd), &l), 0);
	CHECK_EQ(r.n, 4);
	snprintf(want, sizeof(want), "%s/kernel/drivers/virtio/virtio_ring.ko|", dir);
	CHECK(!strcmp(r.calls[0], want));
	snprintf(want, sizeof(want), "%s/kernel/drivers/virtio/virtio.ko|", dir);
	CHECK(!strcmp(r.calls[1], want));
	snprintf(want, sizeof(want), "%s/kernel/drivers/virtio/virtio_mmio.ko|device=4K@0xd0000000:5", dir);
	CHECK(!strcmp(r.calls[2], want));
	snprintf(want, sizeof(want), "%s/kernel/drivers/block/virtio_blk.ko|", dir);
	CHECK(!strcmp(r.calls[3], want));
	rmmoddir(dir);
}

static void test_load_list_failures(void)
{
	char dir[64];
	struct rec r = { .fail = "/virtio.ko" };
	struct init_mod_loader l = { rec_load, &r, dir };

	mkmoddir(dir);
	/* nosuch: not found; virtio_blk: its dependency fails, so virtio_blk
	 * itself is not attempted; squashfs still loads. */
	CHECK_EQ(init_mod_load_list("nosuch,virtio_blk,,squashfs", dir, "", 0, &l), 2);
	CHECK_EQ(r.n, 3);
	CHECK(strstr(r.calls[1], "/virtio.ko"));
	CHECK(strstr(r.calls[2], "squashfs.ko"));
	rmmoddir(dir);
	r.n = 0;
	CHECK_EQ(init_mod_load_list("a,b", "/nonexistent/modules", "", 0, &l), 2);
	CHECK_EQ(r.n, 0);
	/* Present under sys_module: skipped without touching modules.dep. */
	l.sys_module = "/proc/self";
	CHECK_EQ(init_mod_load_list("fd,nosuch", "/nonexistent/modules", "", 0, &l), 1);
	CHECK_EQ(r.n, 0);
}

int main(void)
{
	t_suite = "init_modules";
	RUN(test_basename);
	RUN(test_deps_first);
	RUN(test_shared_deps_once);
	RUN(test_transitive_order);
	RUN(test_missing_named);
	RUN(test_cycle);
	RUN(test_plan_full);
	RUN(test_params);
	RUN(test_builtin);
	RUN(test_load_list_order);
	RUN(test_load_list_failures);
	return t_done();
}
