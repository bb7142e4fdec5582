/* orphans N: make N orphans for init to reap. Each of N children forks a
 * grandchild and exits at once, so the grandchild is re-parented to PID 1;
 * half the grandchildren exit before their parent (zombie orphans), half
 * after (live orphans that exit later). Prints how many it made. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000, made = 0;

	for (long i = 0; i < n; i++) {
		pid_t c = fork();

		if (c < 0) {
			perror("fork");
			break;
		}
		if (c == 0) {
			pid_t g = fork();

			if (g == 0) {
				if (i & 1) {
					struct timespec ts = { 0, 2 * 1000 * 1000 };

					nanosleep(&ts, NULL);
				}
				_exit(0);
			}
			if (!(i & 1) && g > 0) {
				/* Let the grandchild die first: a zombie that
				 * becomes init's when we exit. */
				struct timespec ts = { 0, 200 * 1000 };

				nanosleep(&ts, NULL);
			}
			_exit(g > 0 ? 0 : 1);
		}
		if (waitpid(c, NULL, 0) == c)
			made++;
	}
	printf("orphans made: %ld\n", made);
	return made == n ? 0 : 1;
}
