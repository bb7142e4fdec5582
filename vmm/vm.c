/* VM lifetime: KVM setup (Documentation/virt/kvm/api.rst), devices from the
 * explicit table, vCPU threads, the event loop, and teardown. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "evloop/evloop.h"
#include "vmm/arch.h"
#include "vmm/bus.h"
#include "vmm/control.h"
#include "vmm/device.h"
#include "vmm/exitstat.h"
#include "vmm/gm.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/services/hostsvc.h"
#include "vmm/virtio_host.h"
#include "proto/agents.h"

#define VM_CMDLINE_MAX 4096
#define VM_MAX_DEVICES 32
#define VM_KICK_SIGNAL SIGUSR1
#define VM_STR_(x) #x
#define VM_STR(x) VM_STR_(x)

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	int started;
	atomic_int dump_req;         /* SIGUSR2: log the registers at the next exit */
	struct exitstat stat;        /* written by this vCPU's thread only */
};

struct vm {
	const struct vmm_config *cfg;
	int kvm_fd, vm_fd;
	struct gm gm;
	struct bus pio, mmio;
	struct evloop ev;
	struct dev_env env;
	char cmdline[VM_CMDLINE_MAX];
	size_t cmdline_len;
	unsigned ndev;
	const struct device_ops *dev_ops[VM_MAX_DEVICES];
	void *dev_state[VM_MAX_DEVICES];
	unsigned virtio_next;        /* next virtio-mmio slot */
	unsigned gsi_next;           /* next free GSI for virtio */
	unsigned nres;
	struct dev_resource res[RES_MAX];  /* published by devices, for the firmware tables */
	struct vcpu vcpus[VMM_MAX_VCPUS];
	unsigned nvcpus;
	int exit_fd;                 /* eventfd: someone asked the VM to end */
	int sig_fd;                  /* signalfd: SIGTERM, SIGINT, SIGHUP, SIGUSR2 */
	atomic_int exit_reason;
	atomic_int exit_status;
	atomic_int stopping;
	int guest_streams;           /* a device's guest-stream connector, or -1 */
	struct ctl *ctl;
	struct hostsvc *hostsvc;     /* the agents' endpoints (--syslog, --crash-dir) */
	char name[72];               /* --name, or vm-<pid> */
	uint64_t start_ns;
};

/* ---- dev_env implementation ---------------------------------------- */

static int vm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = arch_irq_line_id(gsi), .level = level ? 1 : 0 };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static int vm_irqfd_new(struct vm *vm, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)fd;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, int match, uint64_t datamatch)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .datamatch = datamatch, .fd = fd };

	if (match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static int vm_watch(struct vm *vm, int fd, dev_watch_cb cb, void *opaque)
{
	return evloop_add(&vm->ev, fd, cb, opaque);
}

static int vm_unwatch(struct vm *vm, int fd)
{
	return evloop_del(&vm->ev, fd);
}

static int vm_cmdline_add(struct vm *vm, const char *word)
{
	size_t n = strlen(word);

	if (vm->cmdline_len + n + 2 > sizeof(vm->cmdline))
		return -E2BIG;
	if (vm->cmdline_len)
		vm->cmdline[vm->cmdline_len++] = ' ';
	memcpy(vm->cmdline + vm->cmdline_len, word, n + 1);
	vm->cmdline_len += n;
	return 0;
}

static int vm_virtio_slot(struct vm *vm, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	char word[96];
	unsigned g;
	int rc;

	rc = arch_virtio_window(vm->virtio_next, vm->gsi_next, base, size, &g, word, sizeof(word));
	if (rc)
		return rc;
	*gsi = g;
	if (word[0] && (rc = vm_cmdline_add(vm, word)))
		return rc;
	vm->virtio_next++;
	vm->gsi_next = g + 1;
	return 0;
}

static int vm_platform_window(struct vm *vm, const char *name, uint64_t *base, uint64_t *size, unsigned *gsi)
{
	(void)vm;
	return arch_platform_window(name, base, size, gsi);
}

static int vm_publish(struct vm *vm, const struct dev_resource *r)
{
	if (vm->nres >= RES_MAX)
		return -ENOSPC;
	vm->res[vm->nres++] = *r;
	return 0;
}

static int vm_guest_streams(struct vm *vm, int fd)
{
	if (vm->guest_streams >= 0) {
		close(fd);
		return -EEXIST;
	}
	vm->guest_streams = fd;
	return 0;
}

static void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status)
{
	int none = VM_EXIT_NONE;
	uint64_t one = 1;

	/* First request wins: a reset racing an exit-port write keeps the first. */
	if (atomic_compare_exchange_strong(&vm->exit_reason, &none, (int)reason))
		atomic_store(&vm->exit_status, status);
	if (write(vm->exit_fd, &one, sizeof(one)) < 0)
		return;
}

/* ---- control socket hooks ---------------------------------------- */

static void vm_ctl_stop(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_SIGNAL, 0);
}

/* Every vCPU's exit counters, merged (safe while the vCPUs run). */
static void vm_exit_sum(const struct vm *vm, struct exitstat_sum *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < vm->nvcpus; i++)
		exitstat_merge(sum, &vm->vcpus[i].stat);
	exitstat_sort(sum);
}

/* A control-socket request for a virtio device type, by name: the core
 * routes plain data and an fd, the device interprets them. */
static int vm_ctl_device(void *opaque, const char *device, const void *msg, size_t len, int fd)
{
	struct vm *vm = opaque;

	for (unsigned i = 0; i < vm->ndev; i++)
		if (vm->dev_ops[i]->virtio && !strcmp(vm->dev_ops[i]->name, device))
			return virtio_host_control(vm->dev_state[i], msg, len, fd);
	return -ENODEV;
}

/* A virtio device type's live counters (virtio_host_status_json), as
 * ",MEMBER" after its option members; 0 when it has none. */
static int vm_ctl_status_counters(struct vm *vm, const struct device_ops *d, char *buf, size_t len)
{
	int r;

	for (unsigned i = 0; i < vm->ndev; i++) {
		if (vm->dev_ops[i] != d || !d->virtio)
			continue;
		if (len < 2)
			return -ENOSPC;
		r = virtio_host_status_json(vm->dev_state[i], buf + 1, len - 1);
		if (r > 0)
			buf[0] = ',';
		return r > 0 ? r + 1 : r;
	}
	return 0;
}

/* The core's members, then each configured device's own (struct
 * device_ops status_json, and a virtio device's counters): the core names
 * no device. */
static int vm_ctl_status(void *opaque, char *buf, size_t len)
{
	struct vm *vm = opaque;
	struct exitstat_sum sum;
	struct timespec ts;
	uint64_t now;
	size_t n;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	r = snprintf(buf, len, "{\"state\":\"%s\",\"pid\":%d,\"vcpus\":%u,\"mem_mib\":%llu,\"uptime_ms\":%llu",
		     atomic_load(&vm->exit_reason) == VM_EXIT_NONE ? "running" : "stopping", (int)getpid(),
		     vm->cfg->vcpus, (unsigned long long)vm->cfg->mem_mib,
		     (unsigned long long)((now - vm->start_ns) / 1000000));
	if (r < 0 || (size_t)r >= len)
		return -ENOSPC;
	n = (size_t)r;
	for (unsigned i = 0; device_table[i]; i++) {
		if (!device_table[i]->status_json || !vm->cfg->dev_cfg[i])
			continue;
		if (n + 2 >= len)
			return -ENOSPC;
		buf[n++] = ',';
		r = device_table[i]->status_json(vm->cfg->dev_cfg[i], buf + n, len - n - 1);
		if (r < 0)
			return r;
		n += (size_t)r;
		if ((r = vm_ctl_status_counters(vm, device_table[i], buf + n, len - n)) < 0)
			return r;
		n += (size_t)r;
	}
	/* Every virtio device's process and worker (virtio_host_health_json). */
	r = snprintf(buf + n, len - n, ",\"virtio\":[");
	if (r < 0 || (size_t)r >= len - n)
		return -ENOSPC;
	n += (size_t)r;
	for (unsigned i = 0, any = 0; i < vm->ndev; i++) {
		size_t at = n + (any ? 1 : 0);  /* after the separating comma */

		if (!vm->dev_ops[i]->virtio)
			continue;
		if (at >= len)
			return -ENOSPC;
		if ((r = virtio_host_health_json(vm->dev_state[i], buf + at, len - at)) < 0)
			return r;
		if (r == 0)
			continue;
		if (any)
			buf[n] = ',';
		n = at + (size_t)r;
		any = 1;
	}
	if (n + 11 >= len)
		return -ENOSPC;
	buf[n++] = ']';
	memcpy(buf + n, ",\"exits\":", 9);
	n += 9;
	vm_exit_sum(vm, &sum);
	r = exitstat_json(&sum, 16, buf + n, len - n - 2);  /* room for "}" and NUL */
	if (r < 0)
		return r;
	n += (size_t)r;
	buf[n++] = '}';
	buf[n] = 0;
	return (int)n;
}

/* ---- vCPUs ----------------------------------------------------------- */

static void vm_kick_handler(int sig)
{
	(void)sig;  /* only interrupts KVM_RUN */
}

static void vcpu_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;

	/* String I/O (rep outsb) arrives as count items of size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&v->vm->pio, run->io.port, data, size);
		else
			bus_read(&v->vm->pio, run->io.port, data, size);
	}
}

static void vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write) {
		if (bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len) < 0)
			log_guest("vcpu%u: write to unclaimed MMIO 0x%llx", v->id,
				  (unsigned long long)run->mmio.phys_addr);
	} else {
		bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	}
}

/* The registers that tell where and why a guest died (a triple fault, a
 * failed entry), at the given log level. */
static void vcpu_dump(struct vcpu *v, int level)
{
	arch_vcpu_dump(v->fd, v->id, level);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	/* Only this thread takes the kick signal; everything else stays blocked. */
	sigemptyset(&set);
	sigaddset(&set, VM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	/* The vCPU filter (Firecracker's): KVM_RUN and the exits handled in
	 * place, from before the first guest instruction. */
	if (!vm->cfg->disable_sandbox) {
		char msg[256];
		int r = sandbox_vmm_filter(SANDBOX_VMM_VCPU, vm->cfg->seccomp_policy_dir, 0, msg, sizeof(msg));
		if (r < 0) {
			log_err("vcpu%u: seccomp filter: %s", v->id, msg[0] ? msg : strerror(-r));
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			return NULL;
		}
	}

	uint64_t t_enter = 0, t_exit = 0;
	int rc = 0;

	while (!atomic_load(&vm->stopping)) {
		/* The previous exit is accounted on re-entry: its handling is done. */
		uint64_t now = exitstat_now();
		if (t_exit)
			exitstat_note(&v->stat, rc < 0 ? NULL : v->run, t_exit - t_enter, now - t_exit);
		t_enter = now;
		rc = ioctl(v->fd, KVM_RUN, 0);
		t_exit = exitstat_now();
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				if (atomic_exchange(&v->dump_req, 0))
					vcpu_dump(v, LOG_ERR);
				continue;
			}
			log_err("vcpu%u: KVM_RUN failed: %s", v->id, strerror(errno));
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			break;
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu_io(v);
			/* The access may have ended the VM (exit port, i8042 reset):
			 * leave now rather than re-enter and be kicked out later. */
			if (atomic_load(&vm->exit_reason) != VM_EXIT_NONE)
				goto out;
			break;
		case KVM_EXIT_MMIO:
			vcpu_mmio(v);
			break;
		case KVM_EXIT_SHUTDOWN:
			/* Triple fault: the PC resets; for us the VM ends (reboot=t). */
			log_info("vcpu%u: guest triple fault (reset)", v->id);
			vcpu_dump(v, LOG_INFO);
			vm_request_exit(vm, VM_EXIT_RESET, 0);
			goto out;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_request_exit(vm, v->run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
					    VM_EXIT_RESET : VM_EXIT_POWEROFF, 0);
			goto out;
		case KVM_EXIT_HLT:
			/* Only without an in-kernel LAPIC; treat as power-off. */
			vm_request_exit(vm, VM_EXIT_POWEROFF, 0);
			goto out;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			log_err("vcpu%u: KVM entry failed, hardware reason 0x%llx", v->id,
				(unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
			vcpu_dump(v, LOG_ERR);
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			goto out;
		case KVM_EXIT_INTERNAL_ERROR:
			log_err("vcpu%u: KVM internal error, suberror %u", v->id, v->run->internal.suberror);
			vcpu_dump(v, LOG_ERR);
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			goto out;
		default:
			log_err("vcpu%u: unhandled KVM exit %u", v->id, v->run->exit_reason);
			vcpu_dump(v, LOG_ERR);
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			goto out;
		}
	}
out:
	if (t_exit)
		exitstat_note(&v->stat, rc < 0 ? NULL : v->run, t_exit - t_enter, exitstat_now() - t_exit);
	return NULL;
}

static int vcpu_create(struct vm *vm, unsigned id, const struct arch_boot *ab, int run_size)
{
	struct vcpu *v = &vm->vcpus[id];
	int rc;

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return -errno;
	v->run_size = (size_t)run_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	rc = arch_vcpu_init(vm->kvm_fd, v->fd, id, vm->cfg->vcpus, ab);
	return rc;
}

/* Get v's thread out of KVM_RUN: immediate_exit covers a thread about to
 * enter (api.rst), the signal one already inside (it returns EINTR). */
static void vcpu_kick(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, VM_KICK_SIGNAL);
}

/* Stop every vCPU thread: set stopping, make any KVM_RUN return at once
 * (immediate_exit, api.rst) and signal the threads out of the kernel. */
static void vm_stop_vcpus(struct vm *vm)
{
	atomic_store(&vm->stopping, 1);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		vcpu_kick(v);
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		/* A thread in KVM_RUN when the signal arrived returns EINTR; one
		 * about to enter sees immediate_exit. Re-kick until it is gone. */
		for (;;) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(v->thread, NULL, &ts) == 0)
				break;
			vcpu_kick(v);
		}
		v->started = 0;
	}
}

/* ---- main loop ------------------------------------------------------- */

static void vm_on_exit_fd(void *opaque, int fd, uint32_t events)
{
	uint64_t v;
	(void)opaque;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
}

/* SIGUSR2, for diagnosis; the VM runs on. Devices log here; each vCPU
 * thread logs its registers when the kick brings it out of KVM_RUN. */
static void vm_dump_state(struct vm *vm)
{
	log_state("SIGUSR2: state of %u devices; then each vCPU thread logs its registers "
		  "when it next leaves KVM_RUN (a vCPU that does not is stuck in vmm)", vm->ndev);
	for (unsigned i = 0; i < vm->ndev; i++) {
		if (vm->dev_ops[i]->virtio)
			virtio_host_dump(vm->dev_state[i]);
		else if (vm->dev_ops[i]->dump)
			vm->dev_ops[i]->dump(vm->dev_state[i]);
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		atomic_store(&vm->vcpus[i].dump_req, 1);
		vcpu_kick(&vm->vcpus[i]);
	}
}

static void vm_on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR2) {
			vm_dump_state(vm);
			continue;
		}
		log_info("received %s, stopping the VM", strsignal((int)si.ssi_signo));
		vm_request_exit(vm, VM_EXIT_SIGNAL, 0);
	}
}

static int vm_exit_code(const struct vm *vm)
{
	switch (atomic_load(&vm->exit_reason)) {
	case VM_EXIT_STATUS:
		return atomic_load(&vm->exit_status) & 0xff;
	case VM_EXIT_ERROR:
		return VMM_EXIT_FAILURE;
	default:
		return VMM_EXIT_OK;
	}
}

static void vm_teardown(struct vm *vm)
{
	atomic_store(&vm->stopping, 1);
	ctl_close(vm->ctl);
	vm_stop_vcpus(vm);
	for (unsigned i = vm->ndev; i > 0; i--) {
		if (vm->dev_ops[i - 1]->virtio)
			virtio_host_destroy(vm->dev_state[i - 1]);
		else
			vm->dev_ops[i - 1]->destroy(vm->dev_state[i - 1]);
	}
	/* After the vsock device: what the guest sent has been written. */
	hostsvc_close(vm->hostsvc);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, v->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	if (vm->sig_fd >= 0)
		close(vm->sig_fd);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	if (vm->guest_streams >= 0)
		close(vm->guest_streams);
	evloop_destroy(&vm->ev);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	gm_destroy(&vm->gm);
}

static int vm_kvm_open(struct vm *vm)
{
	int api;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		log_err("/dev/kvm: cannot open: %s%s", strerror(errno),
			errno == ENOENT ? " (KVM not available on this host)" : "");
		return -errno;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		log_err("/dev/kvm: API version %d, need %d", api, KVM_API_VERSION);
		return -ENOTSUP;
	}
	/* What the core depends on (api.rst §4 capabilities); the
	 * architecture checks its own (arch_check_kvm). */
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_err("/dev/kvm: missing %s", caps[i].name);
			return -ENOTSUP;
		}
	}
	if (arch_check_kvm(vm->kvm_fd) < 0)
		return -ENOTSUP;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		log_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Hand the (already loaded) guest RAM to KVM. */
static int vm_memory(struct vm *vm)
{
	for (unsigned i = 0; i < vm->gm.nregions; i++) {
		struct kvm_userspace_memory_region mr = {
			.slot = i,
			.guest_phys_addr = vm->gm.r[i].gpa,
			.memory_size = vm->gm.r[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->gm.r[i].host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
			log_err("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int vm_run(const struct vmm_config *cfg, uint64_t start_ns)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct arch_boot ab;
	char err[512];
	sigset_t sigs;
	int rc, run_size, code = VMM_EXIT_FAILURE;

	if (!vm) {
		log_err("out of memory");
		return VMM_EXIT_FAILURE;
	}
	vm->cfg = cfg;
	vm->start_ns = start_ns;
	vm->kvm_fd = vm->vm_fd = vm->exit_fd = vm->sig_fd = vm->guest_streams = -1;
	vm->gm.fd = -1;
	vm->gsi_next = 5;
	for (unsigned i = 0; i < VMM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	if (evloop_init(&vm->ev) < 0) {
		free(vm);
		return VMM_EXIT_FAILURE;
	}

	/* Signals: SIGTERM/SIGINT/SIGHUP end the VM through the loop, SIGUSR2
	 * logs the devices' state; the kick signal only interrupts KVM_RUN.
	 * Blocked here, inherited by vCPUs. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, VM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	{
		struct sigaction sa = { .sa_handler = vm_kick_handler };
		sigemptyset(&sa.sa_mask);
		sigaction(VM_KICK_SIGNAL, &sa, NULL);
	}
	sigdelset(&sigs, VM_KICK_SIGNAL);
	vm->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->sig_fd < 0 || vm->exit_fd < 0 || evloop_add(&vm->ev, vm->sig_fd, vm_on_signal, vm) ||
	    evloop_add(&vm->ev, vm->exit_fd, vm_on_exit_fd, vm)) {
		log_err("event setup: %s", strerror(errno));
		goto out;
	}

	/* --seccomp-policy-dir: vmm's own policies must compile before any
	 * work (the devices' are checked as their processes start). */
	for (int w = 0; !cfg->disable_sandbox && cfg->seccomp_policy_dir && w < 2; w++) {
		const char *name = w ? "vmm_vcpu" : "vmm_main";
		struct sock_filter *prog;
		size_t len;

		rc = sandbox_policy(cfg->seccomp_policy_dir, name, &prog, &len, err, sizeof(err));
		if (rc < 0) {
			log_err("--seccomp-policy-dir %s: %s.policy: %s", cfg->seccomp_policy_dir, name,
				err[0] ? err : strerror(-rc));
			code = VMM_EXIT_USAGE;
			goto out;
		}
		free(prog);
	}

	/* Guest RAM and the images first, without KVM: bad input (kernel,
	 * initrd) is refused before any VM exists. */
	rc = gm_create(&vm->gm, cfg->mem_mib << 20, (enum gm_pages)cfg->hugepages);
	if (rc) {
		if (cfg->hugepages == GM_PAGES_2M)
			log_err("-m %llu --hugepages 2M: cannot reserve %llu huge pages: %s (see /proc/sys/vm/nr_hugepages)",
				(unsigned long long)cfg->mem_mib, (unsigned long long)cfg->mem_mib / 2, strerror(-rc));
		else
			log_err("-m %llu: cannot allocate guest RAM: %s", (unsigned long long)cfg->mem_mib, strerror(-rc));
		goto out;
	}
	if (cfg->hugepages == GM_PAGES_THP && cfg->hugepages_set && !gm_thp_shmem())
		log_warn("--hugepages thp: /sys/kernel/mm/transparent_hugepage/shmem_enabled does not allow "
			 "huge pages for guest RAM (set it to advise); using 4 KiB pages");
	rc = arch_load_images(&vm->gm, cfg, &ab, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		/* Bad input (the files) is a usage error; a failed read is not. */
		code = (rc == -EIO) ? VMM_EXIT_FAILURE : VMM_EXIT_USAGE;
		goto out;
	}

	if (vm_kvm_open(vm) || arch_vm_init(vm->kvm_fd, vm->vm_fd, cfg, &ab) < 0) {
		if (vm->vm_fd >= 0)
			log_err("KVM VM setup failed: %s", strerror(errno));
		goto out;
	}
	if (vm_memory(vm))
		goto out;

	/* Every vCPU before the devices: the interrupt controller is complete
	 * when they bind their irqfds (arm64: KVM_IRQFD wants an initialised
	 * vGIC, which wants every vCPU; api.rst KVM_IRQFD, arm-vgic-v3.rst).
	 * Their threads start last. */
	run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		log_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto out;
	}
	vm->nvcpus = cfg->vcpus;
	for (unsigned i = 0; i < cfg->vcpus; i++) {
		rc = vcpu_create(vm, i, &ab, run_size);
		if (rc) {
			log_err("vcpu%u: setup failed: %s", i, strerror(-rc));
			goto out;
		}
	}
	if (arch_vm_finalize(vm->vm_fd, &ab) < 0)
		goto out;

	/* The agents' endpoints before the devices: the vsock device learns
	 * their directory, the guest their ports (docs/AGENTS.md). */
	if (cfg->name)
		snprintf(vm->name, sizeof(vm->name), "%s", cfg->name);
	else
		snprintf(vm->name, sizeof(vm->name), "vm-%d", (int)getpid());
	rc = hostsvc_open(&vm->hostsvc, cfg, vm->name);
	if (rc) {
		code = (rc == -ENOENT || rc == -EACCES || rc == -ENOTDIR || rc == -ENAMETOOLONG) ? VMM_EXIT_USAGE :
												 VMM_EXIT_FAILURE;
		goto out;
	}

	vm->env = (struct dev_env){
		.vm = vm, .cfg = cfg, .gm = &vm->gm, .pio = arch_has_port_io() ? &vm->pio : &vm->mmio, .mmio = &vm->mmio,
		.irq_line = vm_irq_line, .irqfd_new = vm_irqfd_new, .ioeventfd = vm_ioeventfd,
		.watch = vm_watch, .unwatch = vm_unwatch, .virtio_slot = vm_virtio_slot,
		.platform_window = vm_platform_window,
		.publish = vm_publish, .cmdline_add = vm_cmdline_add, .request_exit = vm_request_exit,
		.guest_streams = vm_guest_streams, .start_ns = start_ns,
		.svc_dir = hostsvc_dir(vm->hostsvc),
	};
	vm_cmdline_add(vm, arch_default_cmdline());
	if (cfg->syslog != SYSLOG_NONE)
		vm_cmdline_add(vm, "appvm.syslog=" VM_STR(PROTO_LOG_PORT));
	if (cfg->crash_dir)
		vm_cmdline_add(vm, "appvm.crash=" VM_STR(PROTO_CRASH_PORT));
	for (unsigned i = 0; device_table[i]; i++) {
		const struct device_ops *d = device_table[i];
		void *st = NULL;

		if (i >= VMM_MAX_DEVICE_TYPES || !cfg->dev_cfg[i])
			continue;
		if (vm->ndev >= VM_MAX_DEVICES) {
			log_err("too many devices");
			goto out;
		}
		rc = d->virtio ? virtio_host_create(&st, &vm->env, d->virtio, cfg->dev_cfg[i])
			       : d->create(&vm->env, cfg->dev_cfg[i], &st);
		if (rc < 0) {
			/* The device logged what was wrong, and decided where it
			 * validated its input whose fault it was. */
			log_debug("device %s: %s", d->name, strerror(-dev_error_errno(rc)));
			code = dev_error_is_input(rc) ? VMM_EXIT_USAGE : VMM_EXIT_FAILURE;
			goto out;
		}
		if (rc == 0) {
			vm->dev_ops[vm->ndev] = d;
			vm->dev_state[vm->ndev++] = st;
		}
	}
	/* The user's parameters come last so they override ours. */
	if (cfg->params && vm_cmdline_add(vm, cfg->params)) {
		log_err("-p: kernel command line too long (max %d bytes)", VM_CMDLINE_MAX - 1);
		code = VMM_EXIT_USAGE;
		goto out;
	}
	log_debug("kernel command line: %s", vm->cmdline);

	rc = arch_setup_boot(&vm->gm, cfg, vm->cmdline, vm->res, vm->nres, &ab, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		code = rc == -E2BIG ? VMM_EXIT_USAGE : VMM_EXIT_FAILURE;
		goto out;
	}

	if (cfg->socket_path) {
		struct ctl_hooks hooks = { .vm = vm, .stop = vm_ctl_stop, .status_json = vm_ctl_status,
					   .device_control = vm_ctl_device, .guest_streams = vm->guest_streams };
		rc = ctl_open(&vm->ctl, cfg->socket_path, &vm->ev, &hooks);
		if (rc) {
			code = dev_error_is_input(rc) ? VMM_EXIT_USAGE : VMM_EXIT_FAILURE;
			goto out;
		}
	}

	/* The virtio devices' processes (or worker threads with
	 * --disable-sandbox), before any vCPU can notify them: forked from
	 * this thread, which lives as long as the VM (their PDEATHSIG follows
	 * it), before the vCPU threads exist. */
	for (unsigned i = 0; i < vm->ndev; i++) {
		if (!vm->dev_ops[i]->virtio || (rc = virtio_host_start(vm->dev_state[i])) == 0)
			continue;
		code = dev_error_is_input(rc) ? VMM_EXIT_USAGE : VMM_EXIT_FAILURE;
		goto out;
	}

	for (unsigned i = 0; i < cfg->vcpus; i++) {
		rc = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (rc) {
			log_err("vcpu%u: thread: %s", i, strerror(rc));
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
			break;
		}
		vm->vcpus[i].started = 1;
	}

	/* Set-up is over: the main thread's filter (event loop, control
	 * socket, legacy devices, device supervision, teardown). Threads made
	 * from here on (control clients) inherit it; the vCPU threads have
	 * their own; the agents' endpoint threads (hostsvc, made before the
	 * devices) are not filtered. */
	if (!cfg->disable_sandbox && atomic_load(&vm->exit_reason) == VM_EXIT_NONE) {
		rc = sandbox_vmm_filter(SANDBOX_VMM_MAIN, cfg->seccomp_policy_dir, 0, err, sizeof(err));
		if (rc < 0) {
			log_err("seccomp filter: %s", err[0] ? err : strerror(-rc));
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
		}
	}
	while (atomic_load(&vm->exit_reason) == VM_EXIT_NONE) {
		rc = evloop_run_once(&vm->ev, -1);
		if (rc < 0) {
			log_err("event loop: %s", strerror(-rc));
			vm_request_exit(vm, VM_EXIT_ERROR, 1);
		}
	}
	code = vm_exit_code(vm);
	if (log_level >= LOG_DEBUG) {
		struct exitstat_sum sum;
		vm_stop_vcpus(vm);
		vm_exit_sum(vm, &sum);
		exitstat_log(&sum, 24);
	}
	if (atomic_load(&vm->exit_reason) == VM_EXIT_STATUS)
		log_info("guest exit status %d", code);
out:
	vm_teardown(vm);
	free(vm);
	return code;
}
