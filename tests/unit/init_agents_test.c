/* guest-init/agents.c: which agents init adds as services, where, and with
 * what arguments. */
#include "tests/unit/t.h"
#include "guest-init/agents.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char prog[64];

static void make_prog(void)
{
	int fd;

	snprintf(prog, sizeof(prog), "/tmp/init_agents_%d", (int)getpid());
	fd = open(prog, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	close(fd);
	chmod(prog, 0755);
}

static void add_svc(struct init_svcs *s, const char *name)
{
	memset(&s->svc[s->n], 0, sizeof(s->svc[0]));
	strcpy(s->svc[s->n].name, name);
	s->n++;
}

static void test_announced_only(void)
{
	struct init_config c;
	struct init_svcs s = { 0 };

	init_config_defaults(&c);
	strcpy(c.vm_syslog, prog);
	add_svc(&s, "app");
	/* No appvm.syslog=: no endpoint, no agent. */
	CHECK_EQ(init_agents_add(&c, &s), 0);
	CHECK_EQ(s.n, 1);
	c.syslog_port = 9002;
	c.syslog_buffer = 65536;
	CHECK_EQ(init_agents_add(&c, &s), 1);
	CHECK_EQ(s.n, 2);
	/* First, so /dev/log exists before the image's services start. */
	CHECK(!strcmp(s.svc[0].name, "vm_syslog"));
	CHECK(!strcmp(s.svc[0].exec, prog));
	CHECK(!strcmp(s.svc[0].args, "--buffer 65536"));
	CHECK(s.svc[0].respawn);
	CHECK(!s.svc[0].user[0]);
	CHECK(!strcmp(s.svc[1].name, "app"));
	/* Added twice: replaced, not duplicated. */
	CHECK_EQ(init_agents_add(&c, &s), 0);
	CHECK_EQ(s.n, 2);
}

static void test_off_missing_full(void)
{
	struct init_config c;
	struct init_svcs s = { 0 };

	init_config_defaults(&c);
	c.syslog_port = 9002;
	strcpy(c.vm_syslog, prog);
	c.agents = 0;
	CHECK_EQ(init_agents_add(&c, &s), 0);
	CHECK_EQ(s.n, 0);
	c.agents = -1;
	strcpy(c.vm_syslog, "/nonexistent/vm_syslog");
	CHECK_EQ(init_agents_add(&c, &s), 0);
	CHECK_EQ(s.n, 0);
	strcpy(c.vm_syslog, prog);
	for (int i = 0; i < INIT_SVC_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "s%d", i);
		add_svc(&s, n);
	}
	CHECK_EQ(init_agents_add(&c, &s), -ENOSPC);
	CHECK_EQ(s.n, INIT_SVC_MAX);
}

/* vshd: only under vmm, only when the image has it, off with init.agents=0. */
static void test_vshd(void)
{
	struct init_config c;
	struct init_svcs s = { 0 };

	init_config_defaults(&c);
	add_svc(&s, "app");
	CHECK_EQ(init_agents_add_vshd(&c, &s, prog), 0);  /* not under vmm */
	c.exit_port = 0x510;
	CHECK_EQ(init_agents_add_vshd(&c, &s, "/nonexistent/vshd"), 0);
	c.agents = 0;
	CHECK_EQ(init_agents_add_vshd(&c, &s, prog), 0);
	CHECK_EQ(s.n, 1);
	c.agents = -1;
	CHECK_EQ(init_agents_add_vshd(&c, &s, prog), 1);
	CHECK_EQ(s.n, 2);
	CHECK(!strcmp(s.svc[0].name, "vshd"));
	CHECK(!strcmp(s.svc[0].exec, prog));
	CHECK(s.svc[0].respawn);
	CHECK(!s.svc[0].user[0]);  /* root: it is the root shell service */
	CHECK(!strcmp(s.svc[1].name, "app"));
}

int main(void)
{
	t_suite = "init_agents";
	make_prog();
	RUN(test_announced_only);
	RUN(test_off_missing_full);
	RUN(test_vshd);
	unlink(prog);
	return t_done();
}
