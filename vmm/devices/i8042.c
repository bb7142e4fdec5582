/* i8042 keyboard controller on ports 0x60 (data) and 0x64 (status/command),
 * with no keyboard or mouse behind it. It answers the controller commands
 * Linux's drivers/input/serio/i8042.c issues at probe (read/write the
 * command byte, self tests) and ends the VM on a reset pulse (command 0xFE,
 * or bit 0 cleared through "write output port"), which is how reboot=k
 * reboots. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vmm/device.h"
#include "vmm/log.h"

#define I8042_DATA 0x60
#define I8042_CMD  0x64
#define I8042_KBD_IRQ 1
/* Command 0xfe pulses the CPU reset line: the classic reboot. */
#define I8042_CMD_RESET 0xfe

#define STR_OBF     0x01
#define STR_SYSFLAG 0x04
#define STR_CMDDAT  0x08
#define STR_KEYLOCK 0x10  /* 1 = not inhibited */
#define STR_TIMEOUT 0x40

#define CTR_KBDINT  0x01
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

struct i8042 {
	pthread_mutex_t lock;
	const struct dev_env *env;
	uint8_t ctr;        /* controller command byte */
	uint8_t outport;
	uint8_t status;
	uint8_t out;        /* output buffer */
	uint8_t pending;    /* command waiting for its data byte, 0 if none */
	int irq;
};

static void i8042_set_irq(struct i8042 *c, int level)
{
	if (level != c->irq) {
		c->irq = level;
		c->env->irq_line(c->env->vm, I8042_KBD_IRQ, level);
	}
}

static void i8042_put(struct i8042 *c, uint8_t v, uint8_t extra_status)
{
	c->out = v;
	c->status = (c->status & ~STR_TIMEOUT) | STR_OBF | extra_status;
}

static void i8042_reset(struct i8042 *c)
{
	c->env->request_exit(c->env->vm, VM_EXIT_RESET, 0);
}

static void i8042_command(struct i8042 *c, uint8_t cmd)
{
	c->status |= STR_CMDDAT;
	switch (cmd) {
	case 0x20:  /* read command byte */
		i8042_put(c, c->ctr, 0);
		break;
	case 0x60:  /* write command byte: data follows */
	case 0xd1:  /* write output port */
	case 0xd2:  /* write keyboard output buffer */
	case 0xd3:  /* write aux output buffer */
	case 0xd4:  /* write to aux device */
		c->pending = cmd;
		break;
	case 0xa7:
		c->ctr |= CTR_AUXDIS;
		break;
	case 0xa8:
		c->ctr &= ~CTR_AUXDIS;
		break;
	case 0xa9:  /* aux interface test: 0 = ok */
	case 0xab:  /* keyboard interface test */
		i8042_put(c, 0x00, 0);
		break;
	case 0xaa:  /* controller self test */
		c->status |= STR_SYSFLAG;
		i8042_put(c, 0x55, 0);
		break;
	case 0xad:
		c->ctr |= CTR_KBDDIS;
		break;
	case 0xae:
		c->ctr &= ~CTR_KBDDIS;
		break;
	case 0xc0:  /* read input port */
		i8042_put(c, 0x00, 0);
		break;
	case 0xd0:  /* read output port */
		i8042_put(c, c->outport, 0);
		break;
	default:
		/* 0xf0-0xff pulse output lines low for 6 us; bit 0 low is
		 * the CPU reset line (0xfe is the classic reboot). */
		if ((cmd & 0xf0) == 0xf0 && !(cmd & 1))
			i8042_reset(c);
		break;
	}
}

static void i8042_data(struct i8042 *c, uint8_t v)
{
	uint8_t cmd = c->pending;

	c->pending = 0;
	c->status &= ~STR_CMDDAT;
	switch (cmd) {
	case 0x60:
		c->ctr = v;
		break;
	case 0xd1:
		c->outport = v;
		if (!(v & 1))
			i8042_reset(c);
		break;
	case 0xd2:
		i8042_put(c, v, 0);
		break;
	case 0xd3:
	case 0xd4:
		break;  /* no aux device */
	default:
		/* A byte for the keyboard, and there is none: the controller
		 * reports a timeout with 0xff, so a driver's command fails
		 * fast instead of waiting (Linux i8042_interrupt SERIO_TIMEOUT). */
		i8042_put(c, 0xff, STR_TIMEOUT);
		if ((c->ctr & CTR_KBDINT) && !(c->ctr & CTR_KBDDIS))
			i8042_set_irq(c, 1);
		break;
	}
}

static void i8042_status_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *c = opaque;
	uint8_t v;

	pthread_mutex_lock(&c->lock);
	v = c->status;
	pthread_mutex_unlock(&c->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = i == 0 ? v : 0xff;
}

static void i8042_data_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *c = opaque;
	uint8_t v;

	pthread_mutex_lock(&c->lock);
	v = c->out;
	c->status &= ~(STR_OBF | STR_TIMEOUT);
	i8042_set_irq(c, 0);
	pthread_mutex_unlock(&c->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = i == 0 ? v : 0xff;
}

static void i8042_data_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *c = opaque;

	pthread_mutex_lock(&c->lock);
	i8042_data(c, data[0]);
	pthread_mutex_unlock(&c->lock);
}

static void i8042_cmd_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *c = opaque;

	pthread_mutex_lock(&c->lock);
	i8042_command(c, data[0]);
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_ops i8042_data_ops = { .read = i8042_data_read, .write = i8042_data_write };
static const struct bus_ops i8042_cmd_ops = { .read = i8042_status_read, .write = i8042_cmd_write };

static void i8042_destroy(void *state)
{
	struct i8042 *c = state;

	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int i8042_create(const struct dev_env *env, const void *opts, void **state)
{
	struct i8042 *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->env = env;
	c->ctr = CTR_KBDINT | CTR_SYSFLAG | CTR_AUXDIS | CTR_XLATE;
	c->outport = 0x01;  /* reset line high (not asserted) */
	c->status = STR_SYSFLAG | STR_KEYLOCK;
	/* A PS/2 keyboard controller (PnP PNP0303) whose reset command is the
	 * machine's reset register (FADT RESET_REG). */
	rc = env->publish(env->vm, &(struct dev_resource){
		.kind = RES_ISA, .name = "PS2K", .pnp = RES_PNP(0x03, 0x03), .nports = 2,
		.port = { I8042_DATA, I8042_CMD }, .port_len = { 1, 1 }, .irq = I8042_KBD_IRQ,
		.reset_port = I8042_CMD, .reset_value = I8042_CMD_RESET });
	if (rc == 0)
		rc = bus_add(env->pio, I8042_DATA, 1, &i8042_data_ops, c);
	if (rc == 0)
		rc = bus_add(env->pio, I8042_CMD, 1, &i8042_cmd_ops, c);
	if (rc) {
		i8042_destroy(c);
		return rc;
	}
	*state = c;
	return 0;
}

const struct device_ops i8042_device = {
	.name = "i8042",
	.create = i8042_create,
	.destroy = i8042_destroy,
};
