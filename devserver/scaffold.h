/* scaffold.h -- `cotdev new`: a new app from app_template. */
#ifndef COT_SCAFFOLD_H
#define COT_SCAFFOLD_H

#include <stddef.h>

int scaffold_new(const char *home, const char *dir, char *err, size_t errlen);

#endif
