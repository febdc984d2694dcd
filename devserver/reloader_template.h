/*
 * reloader_template.h -- reloader_template.c: the reload rule of a saved
 * template.
 */
#ifndef COT_RELOADER_TEMPLATE_H
#define COT_RELOADER_TEMPLATE_H

#include <stdbool.h>

/*
 * Parses the saved template `file` ("templates/x.html", under `dir`) at
 * once. On an error reports it like a compile error -- gcc style on the
 * terminal, then on_event("error", file, message), which the browser shows
 * as the overlay -- and returns true: the save is then not a change to
 * reload pages for. False when it parses. Reloader lock held.
 */
bool reloader_template_error(const char *file, const char *dir,
                             void (*on_event)(const char *event, const char *file,
                                              const char *error));

#endif
