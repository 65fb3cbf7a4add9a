/* superserver.c: a one-connection inetd.
 *
 *   superserver SERVICE MODE
 *
 * Listens on a loopback TCP port, forks a client that connects and sends one line, accepts the
 * connection and hands it to SERVICE the inetd way: fork, the socket as standard input and output
 * (dup2 onto 0 and 1), exec SERVICE MODE. Waits for both children and prints how the service ended.
 * The IDS workload (tools/ids/run-workload.sh) runs it once per MODE of service.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: superserver SERVICE MODE\n"); return 2; }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) die("socket");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    socklen_t len = sizeof addr;
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1) < 0
        || getsockname(ls, (struct sockaddr *)&addr, &len) < 0) die("bind/listen");

    pid_t client = fork();
    if (client < 0) die("fork");
    if (client == 0) {
        /* The client: connect, send a line, wait for the service to hang up. */
        close(ls);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        static const char line[] = "hello from the client\n";
        if (write(s, line, sizeof line - 1) != (ssize_t)(sizeof line - 1)) die("write");
        char buf[64];
        while (read(s, buf, sizeof buf) > 0) { }
        _exit(0);
    }

    int conn = accept(ls, NULL, NULL);
    if (conn < 0) die("accept");
    pid_t service = fork();
    if (service < 0) die("fork");
    if (service == 0) {
        if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0) die("dup2");
        close(conn);
        close(ls);
        execl(argv[1], argv[1], argv[2], (char *)NULL);
        die("execl");
    }
    close(conn);
    int status;
    if (waitpid(service, &status, 0) < 0) die("waitpid");
    if (WIFSIGNALED(status)) fprintf(stderr, "superserver: service %d (%s) killed by signal %d\n", (int)service, argv[2], WTERMSIG(status));
    else fprintf(stderr, "superserver: service %d (%s) exited with %d\n", (int)service, argv[2], WEXITSTATUS(status));
    waitpid(client, NULL, 0);
    close(ls);
    return 0;
}
