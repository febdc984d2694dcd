/*
 * accept.h -- Accept-Encoding q-values (accept.c).
 */
#ifndef COT_ACCEPT_H
#define COT_ACCEPT_H

/*
 * The q of `coding` (or `alias`, may be NULL) in the Accept-Encoding value
 * `ae` (may be NULL), in thousandths. An explicit mention beats "*"; not
 * mentioned at all is 0.
 */
int accept_q(const char *ae, const char *coding, const char *alias);

#endif
