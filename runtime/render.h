/*
 * render.h -- templates as responses (render.c): the template directory or
 * the export's embedded copies, checked and rendered.
 */
#ifndef COT_RENDER_H
#define COT_RENDER_H

#include <stddef.h>

int render_init(const char *dir);
int render_add_embedded(const char *name, const char *src, char *err, size_t errlen);
void render_shutdown(void);
int render_check(const char *name, char *err, size_t errlen);

#endif /* COT_RENDER_H */
