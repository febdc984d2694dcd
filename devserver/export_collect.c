/*
 * export_collect.c -- which of the app's files an export compiles (handlers/
 * and lib/ .c files) and embeds (templates/, static/, schema.sql): the
 * files runtime/apptree.c calls the app's, and of static/ only those
 * `cotdev run` would serve.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/apptree.h"
#include "../runtime/static_path.h"
#include "export_internal.h"

typedef struct export_collect_ctx {
	const char *suffix;
	strvec *out;
} export_collect_ctx;

static void
export_collect_one(const char *path, void *opaque)
{
	export_collect_ctx *x = opaque;
	size_t n = strlen(path), k = x->suffix ? strlen(x->suffix) : 0;
	if (k == 0 || (n > k && !strcmp(path + n - k, x->suffix)))
		strvec_push(x->out, path);
}

/* Adds the app's regular files under dir (relative to the cwd) to out,
 * recursively, by the rule static serving and the watcher use
 * (runtime/apptree.c); only names ending in `suffix` when it is not NULL. */
static void
export_collect_scan(const char *dir, const char *suffix, strvec *out)
{
	export_collect_ctx x = {suffix, out};
	apptree_scan(dir, export_collect_one, &x);
}

/*
 * Keeps of the static/ files found only those `cotdev run` serves, by the
 * same rule (static_path.c): a symlink that leaves static/ is not the app's
 * file, and embedding its target would publish it in production.
 */
static void
export_collect_static(strvec *files)
{
	int root = open("static", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int k = 0;
	for (int i = 0; i < files->n; i++) {
		const char *why = "the app has no static/ directory";
		int fd = -1;
		if (strncmp(files->v[i], "static/", 7) == 0) {
			if (root >= 0)
				fd = static_path_open(root, files->v[i] + 7, &why);
			if (fd < 0) {
				fprintf(stderr,
				        "cotdev export: %s is not embedded: %s (cotdev run does "
				        "not serve it either)\n",
				        files->v[i], why);
				free(files->v[i]);
				continue;
			}
			close(fd);
		}
		files->v[k++] = files->v[i];
	}
	files->n = k;
	if (files->v != NULL)
		files->v[k] = NULL;
	if (root >= 0)
		close(root);
}

/* Scans the app; fails on a name the embedding cannot carry. */
int
export_collect(export_state *x)
{
	if (chdir(x->app) != 0)
		return -1;
	export_collect_scan("handlers", ".c", &x->handlers);
	export_collect_scan("lib", ".c", &x->libsrc);
	export_collect_scan("templates", NULL, &x->embedded);
	export_collect_scan("static", NULL, &x->embedded);
	export_collect_static(&x->embedded);
	struct stat st;
	if (stat("schema.sql", &st) == 0 && S_ISREG(st.st_mode))
		strvec_push(&x->embedded, "schema.sql");
	strvec_sort(&x->handlers);
	strvec_sort(&x->libsrc);
	strvec_sort(&x->embedded);
	for (int i = 0; i < x->embedded.n; i++)
		if (!export_gen_embeddable(x->embedded.v[i])) {
			fprintf(stderr,
			        "cotdev export: cannot embed \"%s\": rename it without "
			        "quotes, backslashes or control characters\n",
			        x->embedded.v[i]);
			return -1;
		}
	return 0;
}
