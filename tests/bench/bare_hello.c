/*
 * bare_hello.c -- the baseline of bench_http.sh: libmicrohttpd alone,
 * answering "Hello, world!\n" on /hello/world (404 elsewhere).
 *
 * Same MHD setup as runtime/server.c: internal polling thread, epoll, a
 * thread pool of one thread per core, 30 s connection timeout, and the
 * response queued on the second call of the access handler, as
 * server_access.c does (queued on the first, MHD 0.9.75 answers
 * "Connection: close"). Like cot, it makes one
 * response object per request with a Content-Type header. Nothing else:
 * no routing, no request id, no log line -- what cot costs is measured
 * against this.
 *
 * usage: bare_hello [PORT [THREADS]]
 *   PORT     0 or none: a free port; the URL is printed
 *   THREADS  size of the thread pool (default: one per core, like cot)
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char hello[] = "Hello, world!\n";
static const char missing[] = "not found\n";
static int first_call_marker;

static enum MHD_Result
bare_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &first_call_marker; /* answer on the second call */
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	bool found = strcmp(url, "/hello/world") == 0;
	const char *body = found ? hello : missing;
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(conn, found ? 200 : 404, r);
	MHD_destroy_response(r);
	return ret;
}

int
main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long threads = argc > 2 ? atol(argv[2]) : ncpu;
	if (threads < 1)
		threads = 2;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	        bare_access, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned)30, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
#ifdef BARE_POOL /* per-connection memory, for experiments (default: MHD's 32 KB) */
	        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)BARE_POOL,
#endif
	        MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bare_hello: cannot start on port %d\n", port);
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("bare on http://127.0.0.1:%u/\n", (unsigned)info->port);
	fflush(stdout);
	int sig;
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	return 0;
}
