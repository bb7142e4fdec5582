/* 16550A register model. References: the National Semiconductor PC16550D
 * datasheet (register map, IIR priorities, THRE interrupt rules) and Linux's
 * drivers/tty/serial/8250 (what the driver probes: scratch register, loopback
 * MSR echo, FIFO bits in IIR). */
#include "vmm/devices/serial.h"

#include <string.h>

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI  0x08
#define UART_IIR_NONE 0x01
#define UART_IIR_MSI  0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI  0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO 0xc0
#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RCVR 0x02

void serial_init(struct serial *s, void (*irq)(void *, int), void (*out)(void *, const uint8_t *, size_t),
		 void (*rx_ready)(void *), void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->irq = irq;
	s->out = out;
	s->rx_ready = rx_ready;
	s->ctx = ctx;
	/* A terminal is attached: carrier, data set ready, clear to send. */
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->mcr = UART_MCR_OUT2;
	s->dll = 12;  /* 9600 baud, as after a BIOS */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* Highest-priority pending interrupt identification (datasheet table 4). */
static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && s->lsr_err)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	return UART_IIR_NONE;
}

static void serial_update_irq(struct serial *s)
{
	/* OUT2 gates the interrupt onto the ISA line on PCs; Linux sets it. */
	int level = serial_iir(s) != UART_IIR_NONE && (s->mcr & UART_MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->irq)
			s->irq(s->ctx, level);
	}
}

static void serial_rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_len == SERIAL_RX_CAP) {
		s->lsr_err |= UART_LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_CAP] = c;
	s->rx_len++;
}

static uint8_t serial_msr(const struct serial *s)
{
	if (s->mcr & UART_MCR_LOOP) {
		/* Loopback: modem outputs feed the modem inputs. The 8250
		 * driver's autoconfig checks this echo. */
		uint8_t m = 0;
		if (s->mcr & UART_MCR_RTS)
			m |= UART_MSR_CTS;
		if (s->mcr & UART_MCR_DTR)
			m |= UART_MSR_DSR;
		if (s->mcr & UART_MCR_OUT1)
			m |= UART_MSR_RI;
		if (s->mcr & UART_MCR_OUT2)
			m |= UART_MSR_DCD;
		return m;
	}
	return s->msr;
}

uint8_t serial_read(struct serial *s, unsigned reg)
{
	uint8_t v = 0xff;

	pthread_mutex_lock(&s->lock);
	switch (reg) {
	case 0:
		if (s->lcr & UART_LCR_DLAB) {
			v = s->dll;
		} else {
			int was_full = s->rx_len == SERIAL_RX_CAP;
			v = 0;
			if (s->rx_len) {
				v = s->rx[s->rx_head];
				s->rx_head = (s->rx_head + 1) % SERIAL_RX_CAP;
				s->rx_len--;
			}
			if (was_full && s->rx_ready)
				s->rx_ready(s->ctx);
		}
		break;
	case 1:
		v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case 2:
		v = serial_iir(s);
		/* Reading IIR while THRE is the reported source clears it. */
		if (v == UART_IIR_THRI)
			s->thr_ipending = 0;
		if (s->fcr & UART_FCR_ENABLE)
			v |= UART_IIR_FIFO;
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		/* Transmission is instantaneous: THR and shifter always empty. */
		v = UART_LSR_THRE | UART_LSR_TEMT | s->lsr_err | (s->rx_len ? UART_LSR_DR : 0);
		s->lsr_err = 0;
		break;
	case 6:
		v = serial_msr(s);
		break;
	case 7:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

void serial_write(struct serial *s, unsigned reg, uint8_t val)
{
	pthread_mutex_lock(&s->lock);
	switch (reg) {
	case 0:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			serial_rx_push(s, val);
		else if (s->out)
			s->out(s->ctx, &val, 1);
		/* The byte left at once: THR is empty again, which raises
		 * THRE if enabled. Drivers writing /dev/console rely on this
		 * interrupt to send the next byte. */
		s->thr_ipending = 1;
		break;
	case 1:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* Enabling THRE while THR is empty raises it immediately. */
		if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thr_ipending = 1;
		s->ier = val & 0x0f;
		break;
	case 2:
		s->fcr = val & (UART_FCR_ENABLE | 0xc0);
		if ((val & UART_FCR_CLEAR_RCVR) || !(val & UART_FCR_ENABLE)) {
			int was_full = s->rx_len == SERIAL_RX_CAP;
			if (val & UART_FCR_CLEAR_RCVR) {
				s->rx_head = 0;
				s->rx_len = 0;
				if (was_full && s->rx_ready)
					s->rx_ready(s->ctx);
			}
		}
		break;
	case 3:
		s->lcr = val;
		break;
	case 4:
		/* Leaving loopback reconnects the line: held input may flow. */
		if ((s->mcr & UART_MCR_LOOP) && !(val & UART_MCR_LOOP) && s->rx_ready)
			s->rx_ready(s->ctx);
		s->mcr = val & 0x1f;
		break;
	case 5:
	case 6:
		break;  /* read-only (factory test writes ignored) */
	case 7:
		s->scr = val;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the line is disconnected from the outside world. */
	if (!(s->mcr & UART_MCR_LOOP)) {
		while (n < len && s->rx_len < SERIAL_RX_CAP)
			serial_rx_push(s, buf[n++]);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_CAP - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return n;
}
