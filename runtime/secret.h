/*
 * secret.h -- the app secret (secret.c): loaded from .cot-secret in
 * development, from --secret-file, $COT_SECRET or $COT_SECRET_FILE in an
 * export; each purpose (sessions, JWTs) gets its own key derived from it
 * with libsodium.
 *
 * All of the accounts' cryptography is libsodium's: AEAD for session
 * cookies (session.c), argon2id for passwords (password.c), HMAC-SHA-256
 * for JWTs (jwt.c), SipHash for the rate limiter's table (ratelimit.c).
 */
#ifndef COT_SECRET_H
#define COT_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_KEY_BYTES 32
#define SECRET_MAX       8 /* the signing secret and up to 7 old ones */
#define SECRET_DEV_FILE  ".cot-secret"

/* What a key is for: each purpose gets its own key derived from a secret. */
enum secret_purpose { SECRET_SESSION = 1, SECRET_JWT = 2 };

/* sodium_init once; 0, or -1 when libsodium cannot start. */
int secret_sodium(void);

/*
 * Development: reads SECRET_DEV_FILE in the current directory (the app),
 * creating it with a fresh random secret when it is missing (and saying so
 * on stdout). 0, or -1 with the reason in err.
 */
int secret_init_dev(char *err, size_t errlen);

/*
 * Export: the secrets come from the file `path` (--secret-file) when not
 * NULL, else from $COT_SECRET, else from the file $COT_SECRET_FILE. One
 * secret per line (or whitespace-separated in $COT_SECRET): the first signs,
 * the others still verify (key rotation). Each must be at least 32
 * characters. 0, or -1 with a message that says what to set in err.
 */
int secret_init_export(const char *path, char *err, size_t errlen);

/* Writes a fresh random secret to `path` (mode 0600, never over an existing
 * file): `cotdev new`, and `cotdev run` for an app without one. */
int secret_create_file(const char *path, char *err, size_t errlen);

/* Parses secrets from text (as the file holds them). 0 or -1 with err. */
int secret_init_text(const char *text, const char *origin, char *err, size_t errlen);

/* Number of secrets loaded (0: none: sessions and JWTs refuse to work). */
int secret_count(void);

/* The key for `purpose` derived from secret i (0 signs). false if none. */
bool secret_key(enum secret_purpose purpose, int i, uint8_t key[SECRET_KEY_BYTES]);

/* Forgets every secret (tests, shutdown). */
void secret_reset(void);

#endif /* COT_SECRET_H */
