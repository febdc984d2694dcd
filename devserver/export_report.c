/*
 * export_report.c -- what `cotdev export` says when the binary is written:
 * what it holds, its size and build time, and the Debian packages it needs
 * where it runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../runtime/monotonic.h"
#include "export_internal.h"
#include "file.h"

void
export_report(const export_state *x, double t0)
{
	struct stat st;
	long long embedded = 0;
	for (int i = 0; i < x->embedded.n; i++)
		if (stat(x->embedded.v[i], &st) == 0)
			embedded += (long long)st.st_size;
	if (stat(x->out, &st) != 0)
		st.st_size = 0;
	printf("exported %s: %d handler file%s, %d embedded file%s (%lld bytes)\n", x->out,
	       x->handlers.n, x->handlers.n == 1 ? "" : "s", x->embedded.n,
	       x->embedded.n == 1 ? "" : "s", embedded);
	printf("binary size %.1f KB, built in %.2f s\n", (double)st.st_size / 1024.0,
	       (monotonic_ms() - t0) / 1e3);
	if (x->cache.dir[0] != '\0')
		printf("runtime objects: %d from the cache, %d compiled (cache: %s)\n",
		       x->cache.hits, x->cache.nmiss, x->cache.dir);
}

/*
 * Says which Debian packages the binary needs where it runs: the libraries
 * it links (readelf's NEEDED, libc aside), all in one dpkg -S (a scan of
 * dpkg's file lists, ~0.2 s). Prints nothing where dpkg cannot tell, e.g.
 * on a machine that is not Debian.
 */
void
export_report_packages(const export_state *x)
{
	static const char script[] =
	        "set -f; set -- $(readelf -d \"$1\" | "
	        "sed -n 's/.*NEEDED.*\\[\\(.*\\)\\]/*\\/\\1/p' | grep -v '/libc\\.so'); "
	        "[ $# -gt 0 ] && dpkg -S \"$@\" 2>/dev/null | cut -d: -f1 | "
	        "awk '!seen[$0]++' | tr '\\n' ' '";
	export_job j = {.status = -1};
	snprintf(j.log, sizeof(j.log), "%s/packages.txt", x->tmp);
	strvec_push(&j.argv, "sh");
	strvec_push(&j.argv, "-c");
	strvec_push(&j.argv, script);
	strvec_push(&j.argv, "sh");
	strvec_push(&j.argv, x->out);
	if (export_jobs_spawn(&j, x->tmp) == 0)
		waitpid(j.pid, &j.status, 0);
	strvec_free(&j.argv);
	char *pkgs = file_read(j.log, NULL);
	size_t n = pkgs ? strlen(pkgs) : 0;
	while (n > 0 && pkgs[n - 1] == ' ')
		pkgs[--n] = '\0';
	if (n > 0 && WIFEXITED(j.status) && WEXITSTATUS(j.status) == 0)
		printf("the server needs these Debian packages: %s\n", pkgs);
	free(pkgs);
}
