/*
 * reloader_template.c -- the reload rule of a saved template: render_check
 * -> compiler_format -> the error event.
 *
 * A template is not compiled, so nothing would notice a broken one until a
 * request rendered it. The reloader parses each saved template at once
 * (render.c's own parser, the one requests use), so a mistake shows where
 * a handler's compile error shows -- the terminal in gcc style, the
 * browser's overlay -- and pages are not reloaded into the error. A
 * template that parses is an ordinary change: pages that rendered it
 * reload (livereload.c decides which).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/render.h"
#include "compiler.h"
#include "reloader_template.h"

bool
reloader_template_error(const char *file, const char *dir,
                        void (*on_event)(const char *event, const char *file, const char *error))
{
	char err[1024], raw[1200];
	if (render_check(file + strlen(dir) + 1, err, sizeof(err)) == 0)
		return false;
	/* "templates/x.html:3: msg" -> "templates/x.html:3: error: msg" */
	const char *p = strchr(err, ':');
	const char *q = p ? strchr(p + 1, ':') : NULL;
	if (q != NULL && q[1] == ' ')
		snprintf(raw, sizeof(raw), "%.*s: error:%s", (int)(q - err), err, q + 1);
	else
		snprintf(raw, sizeof(raw), "%s:1: error: %s", file, err);
	char *msg = compiler_format(raw);
	printf("error in %s (pages that use it answer with this until it parses):\n%s\n", file,
	       msg ? msg : raw);
	fflush(stdout);
	if (on_event != NULL)
		on_event("error", file, msg ? msg : raw);
	free(msg);
	return true;
}
