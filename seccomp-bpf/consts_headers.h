/* Headers whose object-like integer macros become the policy compiler's named
 * constants (O_*, PROT_*, MAP_*, AF_*, SOCK_*, ioctl requests incl. KVM_*,
 * errno values for "return EPERM", ...). Read at build time by
 * seccomp-bpf/gen-consts.sh with the host compiler; nothing is hand-typed.
 * Only headers that coexist with glibc's (and, for the arm64 build, musl's) in
 * one translation unit belong here. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sockios.h>
#include <linux/vhost.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
