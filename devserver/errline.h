/*
 * errline.h -- moving a tcc error to where gcc reports it (errline.c).
 */
#ifndef COT_ERRLINE_H
#define COT_ERRLINE_H

/*
 * For a tcc message `msg` reported at *line of the source text `src`:
 * a missing token ("';' expected (got "X")") moves to just past the token
 * before X, an error past the last line to the file's last token. Returns
 * 1 (2: it was past the end of the file) and sets *line and *col (1-based
 * bytes) when it moved, else 0.
 */
int errline_fix(const char *src, const char *msg, int *line, int *col);

#endif
