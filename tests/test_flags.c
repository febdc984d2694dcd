/*
 * test_flags.c -- runtime/flags.c: the one option table of `cotdev run` and
 * exported binaries. Both programs must read a shared flag the same way, and
 * a bad value is an error (exit status 2 and a message), never a silent
 * default: `--timeout abc` once meant "no limit" in cotdev run.
 */
#include <stdlib.h>
#include <unistd.h>

#include "flags.h"
#include "t.h"

static char t_err[8192];

/* Parses the NULL-terminated words for program `which`, with stderr caught
 * in t_err. Returns flags_parse's result. */
static int
parse(flags *f, int which, const char *const *words)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "prog";
	while (*words != NULL && argc < 31)
		argv[argc++] = (char *)*words++;
	argv[argc] = NULL;
	flags_defaults(f, which);

	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	int rc = flags_parse(f, which, "prog", argc, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(t_err, 1, sizeof(t_err) - 1, tmp);
	t_err[n] = '\0';
	fclose(tmp);
	return rc;
}

static void
test_shared_flags(void)
{
	static const char *const words[] = {
	        "--host",
	        "0.0.0.0",
	        "--port",
	        "0",
	        "--threads",
	        "3",
	        "--timeout",
	        "0",
	        "--idle-timeout",
	        "7",
	        "--max-body",
	        "2M",
	        "--cors",
	        "*",
	        "--quiet",
	        "--db",
	        "x.db",
	        "--max-body-memory",
	        "1G",
	        "--head-timeout",
	        "4",
	        "--max-connections",
	        "50",
	        "--max-connections-per-ip",
	        "0",
	        "--drain-timeout",
	        "9",
	        NULL,
	};
	int which[] = {FLAGS_DEV, FLAGS_EXPORT};
	for (int i = 0; i < 2; i++) {
		flags f;
		T_CHECK("shared flags parse", parse(&f, which[i], words) == -1);
		T_STREQ("--host", f.cfg.host, "0.0.0.0");
		T_CHECK("--port 0", f.cfg.port == 0);
		T_CHECK("--threads 3", f.cfg.threads == 3);
		T_CHECK("--timeout 0 means never", f.cfg.timeout_ms == 0);
		T_CHECK("--idle-timeout 7", f.cfg.idle_timeout_s == 7);
		T_CHECK("--max-body 2M", f.cfg.max_body == 2u << 20);
		T_STREQ("--cors", f.cfg.cors_origin, "*");
		T_CHECK("--quiet", f.cfg.quiet);
		T_CHECK("--max-body-memory 1G", f.cfg.max_body_memory == 1u << 30);
		T_CHECK("--head-timeout 4", f.cfg.head_timeout_s == 4);
		T_CHECK("--max-connections 50", f.cfg.max_connections == 50);
		T_CHECK("--max-connections-per-ip 0", f.cfg.max_per_ip == 0);
		T_CHECK("--drain-timeout 9", f.cfg.drain_timeout_ms == 9);
		T_STREQ("--db", f.db_path, "x.db");
		T_CHECK("dev flag set only for cotdev run", f.cfg.dev == (which[i] == FLAGS_DEV));
	}
}

static void
test_defaults(void)
{
	static const char *const none[] = {NULL};
	flags f;
	T_CHECK("no flags parse", parse(&f, FLAGS_EXPORT, none) == -1);
	T_STREQ("default host is loopback", f.cfg.host, "127.0.0.1");
	T_CHECK("default port 8080", f.cfg.port == 8080);
	T_CHECK("default timeout 5000 ms", f.cfg.timeout_ms == 5000);
	T_CHECK("no --db: the program picks its default", f.db_path == NULL);
	T_STREQ("dev default directory", f.dir, ".");
	T_CHECK("the export drains for 25 s", f.cfg.drain_timeout_ms == 25000);
	T_CHECK("no flags parse (dev)", parse(&f, FLAGS_DEV, none) == -1);
	T_CHECK("cotdev run drains for 5 s", f.cfg.drain_timeout_ms == 5000);
}

/* Each bad value: exit status 2, the flag named, the usage printed. */
static void
test_bad_values(void)
{
	static const char *const bad[][3] = {
	        {"--timeout", "abc", "--timeout wants milliseconds"},
	        {"--timeout", "-1", "--timeout wants milliseconds"},
	        {"--port", "65536", "--port wants a number 0-65535"},
	        {"--port", "80x", "--port wants a number"},
	        {"--threads", "0", "--threads wants a number 1-1024"},
	        {"--threads", "", "--threads wants a number"},
	        {"--idle-timeout", "0", "--idle-timeout wants seconds"},
	        {"--max-body", "10Q", "--max-body wants a size"},
	        {"--max-body", "0", "--max-body wants a size"},
	        {"--db", "", "--db wants a value"},
	        {"--host", "", "--host wants a value"},
	        {"--max-connections", "0", "--max-connections wants a number 1-1000000"},
	        {"--drain-timeout", "1h", "--drain-timeout wants milliseconds"},
	        {"--head-timeout", "-3", "--head-timeout wants seconds"},
	        {"--max-body-memory", "lots", "--max-body-memory wants a size"},
	};
	int which[] = {FLAGS_DEV, FLAGS_EXPORT};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int w = 0; w < 2; w++) {
			const char *words[] = {bad[i][0], bad[i][1], NULL};
			flags f;
			char name[128];
			snprintf(name, sizeof(name), "%s %s: exit 2 (%s)", bad[i][0], bad[i][1],
			         which[w] == FLAGS_DEV ? "dev" : "export");
			T_CHECK(name, parse(&f, which[w], words) == 2);
			T_CHECK("... names the flag and what it wants",
			        strstr(t_err, bad[i][2]) != NULL);
			T_CHECK("... prints the usage", strstr(t_err, "usage: prog") != NULL);
		}
}

/* A flag only one program has is an error in the other. */
static void
test_program_flags(void)
{
	static const char *const export_only[] = {"--allow-destructive", "--check", "--list-files",
	                                          "--exit-on-crash"};
	for (size_t i = 0; i < 4; i++) {
		const char *words[] = {export_only[i], NULL};
		flags f;
		T_CHECK("export flag accepted by the export", parse(&f, FLAGS_EXPORT, words) == -1);
		T_CHECK("... and refused by cotdev run", parse(&f, FLAGS_DEV, words) == 2);
	}
	static const char *const dir[] = {"--port", "1", "myapp", NULL};
	flags f;
	T_CHECK("cotdev run takes one DIR", parse(&f, FLAGS_DEV, dir) == -1);
	T_STREQ("... stored", f.dir, "myapp");
	T_CHECK("the export takes none", parse(&f, FLAGS_EXPORT, dir) == 2);
	T_CHECK("... saying which", strstr(t_err, "unexpected argument \"myapp\"") != NULL);
	static const char *const two[] = {"a", "b", NULL};
	T_CHECK("cotdev run refuses a second DIR", parse(&f, FLAGS_DEV, two) == 2);
}

/* The usage is printed from the table: every flag parsed is described. */
static void
test_usage(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	flags_usage(out, FLAGS_EXPORT, "app");
	fclose(out);
	const char *want[] = {"--host H",
	                      "--port N",
	                      "--threads N",
	                      "--db PATH",
	                      "--allow-destructive",
	                      "--quiet",
	                      "--check",
	                      "--list-files",
	                      "--max-body SIZE",
	                      "--idle-timeout S",
	                      "--max-body-memory SIZE",
	                      "--head-timeout S",
	                      "--keepalive-timeout S",
	                      "--max-connections N",
	                      "--max-connections-per-ip N",
	                      "--drain-timeout MS",
	                      "--cors ORIGIN",
	                      "--timeout MS",
	                      "--exit-on-crash",
	                      "--help"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		T_CHECK(want[i], strstr(buf, want[i]) != NULL);
	T_CHECK("export usage names the program", strncmp(buf, "usage: app [OPTIONS]\n", 21) == 0);
	free(buf);
}

int
main(void)
{
	test_shared_flags();
	test_defaults();
	test_bad_values();
	test_program_flags();
	test_usage();
	return T_DONE();
}
