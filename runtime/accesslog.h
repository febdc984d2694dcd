/*
 * accesslog.h -- the access log and error lines, written in batches by one
 * writer thread (accesslog.c explains the design).
 */
#ifndef COT_ACCESSLOG_H
#define COT_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

enum { ACCESSLOG_TEXT = 0, ACCESSLOG_JSON = 1 };

typedef struct accesslog_request_info {
	const char *method, *path, *request_id;
	int status;
	size_t bytes;
	double ms;
	struct MHD_Connection *conn; /* the client's address, for json */
} accesslog_request_info;

/* Starts the writer; path NULL: stdout. Again: changes path and format. */
int accesslog_start(const char *path, int format, char *err, size_t errlen);
/* Development, when the text log goes to a terminal: each request id is a
 * hyperlink (OSC 8) to this prefix + the id -- the dev console's inspector
 * entry. NULL (the default, and always in the export): plain text. */
extern const char *accesslog_id_link;
/* One line for a request; never blocks on the output (see accesslog.c). */
void accesslog_request(const accesslog_request_info *r);
/* A crash or stopped handler: its line and trace, written out at once. */
void accesslog_error(const char *method, const char *path, const char *request_id, const char *what,
                     const char *detail, const char *trace);
/* Writes every buffered line now (drain, exit, before a fatal message). */
void accesslog_flush(void);
/* SIGHUP: reopens the --access-log file (logrotate moved it away). */
int accesslog_reopen(char *err, size_t errlen);
/* Stops the writer thread after writing everything. */
void accesslog_stop(void);

#endif
