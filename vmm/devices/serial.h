/* 16550A UART register model (no I/O of its own), shared by the COM1 device
 * and its unit test. Thread-safe: vCPU threads access registers while the
 * event loop feeds input. */
#ifndef VMM_DEVICES_SERIAL_H
#define VMM_DEVICES_SERIAL_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_RX_CAP 256

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr_err, msr, scr, dll, dlm, fcr;
	int thr_ipending;      /* THRE interrupt pending (cleared by IIR read / THR write) */
	uint8_t rx[SERIAL_RX_CAP];
	unsigned rx_head, rx_len;
	int irq_level;
	/* Called with the lock held whenever the interrupt line changes. */
	void (*irq)(void *ctx, int level);
	/* Transmit; called with the lock held. */
	void (*out)(void *ctx, const uint8_t *buf, size_t len);
	/* Called with the lock held when rx space opens up after being full. */
	void (*rx_ready)(void *ctx);
	void *ctx;
};

void serial_init(struct serial *s, void (*irq)(void *, int), void (*out)(void *, const uint8_t *, size_t),
		 void (*rx_ready)(void *), void *ctx);
void serial_destroy(struct serial *s);
/* reg is 0..7 (offset from the base port). */
uint8_t serial_read(struct serial *s, unsigned reg);
void serial_write(struct serial *s, unsigned reg, uint8_t val);
/* Queue received bytes; returns how many fit (the rest must be retried). */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
size_t serial_rx_space(struct serial *s);
#endif
