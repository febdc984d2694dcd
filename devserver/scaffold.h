/* scaffold.h -- `cotdev new`: a new app from app_template. */
#ifndef COT_SCAFFOLD_H
#define COT_SCAFFOLD_H

#include <stdbool.h>
#include <stddef.h>

/* Creates the app DIR (missing or empty) from HOME/app_template, plus
 * HOME/app_template_auth when auth. 0, or -1 with the reason in err. */
int scaffold_new(const char *home, const char *dir, bool auth, char *err, size_t errlen);

#endif
