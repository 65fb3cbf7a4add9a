/* service.c: the inetd service of the IDS workload; the connection is standard input and output.
 *
 *   service crash    read the request, then a few system calls, then a NULL write: SIGSEGV
 *   service exit     read the request, the same calls, then exit normally
 *   service noread   the same calls and the SIGSEGV, without reading anything
 *
 * Between the read and the end it makes exactly four system calls (getpid, write, openat, close), so
 * the distance n of the IDS alert is known: 4 when every call is recorded, 2 when only the calls the
 * IDS pre-filter passes by default are (openat and close; see spec/ids.md).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void four_calls(void)
{
    syscall(SYS_getpid);                 /* raw: glibc does not cache it, but be sure */
    static const char reply[] = "ok\n";
    (void)!write(1, reply, sizeof reply - 1);
    int fd = open("/dev/null", O_RDONLY);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    const char *mode = argv[1];
    char buf[256];
    if (strcmp(mode, "noread") != 0 && read(0, buf, sizeof buf) <= 0) return 3;
    four_calls();
    if (strcmp(mode, "exit") == 0) return 0;
    *(volatile int *)0 = 1;              /* SIGSEGV */
    return 4;
}
