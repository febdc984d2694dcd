/*
 * guard.h -- connection deadlines and limits libmicrohttpd does not keep
 * (guard.c): head, keep-alive and idle timeouts, cutting a worker's
 * connections.
 */
#ifndef COT_GUARD_H
#define COT_GUARD_H

#include <sys/types.h>

struct MHD_Connection;
enum MHD_ConnectionNotificationCode;

void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);
void guard_head(struct MHD_Connection *conn);
void guard_line(struct MHD_Connection *conn);
void guard_done(struct MHD_Connection *conn);
int guard_fd(struct MHD_Connection *conn);
int guard_cut_thread(pid_t tid, int except_fd);
int guard_start(int head_timeout_s, int keepalive_s, int idle_s);
void guard_stop(void);

#endif /* COT_GUARD_H */
