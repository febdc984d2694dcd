/*
 * secret.c -- the app secret: where it comes from and the keys derived
 * from it.
 *
 * Sessions (encrypted cookies) and signed tokens (JWT) need a key that only
 * the server knows and that survives restarts and is shared by every process
 * of the app. That key is derived from the app secret, a random string:
 *
 *   - development: `cotdev new` writes one into .cot-secret, which the
 *     template's .gitignore keeps out of version control; `cotdev run` reads
 *     it (and creates it, saying so, for an app made before it existed);
 *   - an exported binary: --secret-file PATH, else $COT_SECRET, else the
 *     file $COT_SECRET_FILE; without one it refuses to start (app_main.c)
 *     rather than fall back to a guessable default.
 *
 * Rotation: a file holds one secret per line ($COT_SECRET: separated by
 * white space). The first signs and encrypts; the others are only tried to
 * verify and decrypt, so cookies and tokens made with an old secret keep
 * working while it is listed, and are re-issued under the new one.
 *
 * Each secret is hashed to a 32-byte master key (BLAKE2b) and each purpose
 * gets its own subkey (crypto_kdf), so a JWT key can never decrypt a
 * session. Keys are computed once at start and kept in locked memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

#define SECRET_MIN_CHARS 32
#define SECRET_PURPOSES  3 /* index 0 unused */
#define SECRET_TEXT_MAX  4096

static uint8_t (*secret_keys)[SECRET_PURPOSES][SECRET_KEY_BYTES]; /* sodium_malloc'd */
static int secret_n;

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static int secret_sodium_rc;

static void
secret_sodium_start(void)
{
	secret_sodium_rc = sodium_init() < 0 ? -1 : 0;
}

int
secret_sodium(void)
{
	pthread_once(&secret_once, secret_sodium_start);
	return secret_sodium_rc;
}

int
secret_count(void)
{
	return secret_n;
}

bool
secret_key(enum secret_purpose purpose, int i, uint8_t key[SECRET_KEY_BYTES])
{
	if (i < 0 || i >= secret_n || purpose <= 0 || purpose >= SECRET_PURPOSES)
		return false;
	memcpy(key, secret_keys[i][purpose], SECRET_KEY_BYTES);
	return true;
}

void
secret_reset(void)
{
	if (secret_keys != NULL)
		sodium_free(secret_keys);
	secret_keys = NULL;
	secret_n = 0;
}

/* Derives the keys of one secret into slot i. */
static void
secret_derive(int i, const char *s, size_t len)
{
	uint8_t master[crypto_kdf_KEYBYTES];
	crypto_generichash(master, sizeof(master), (const unsigned char *)s, len, NULL, 0);
	for (int p = 1; p < SECRET_PURPOSES; p++)
		crypto_kdf_derive_from_key(secret_keys[i][p], SECRET_KEY_BYTES, (uint64_t)p,
		                           "cot-keys", master);
	sodium_memzero(master, sizeof(master));
}

int
secret_init_text(const char *text, const char *origin, char *err, size_t errlen)
{
	if (secret_sodium() != 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return -1;
	}
	secret_reset();
	secret_keys = sodium_malloc(sizeof(*secret_keys) * SECRET_MAX);
	if (secret_keys == NULL) {
		snprintf(err, errlen, "out of memory for the app secret");
		return -1;
	}
	const char *p = text;
	while (*p != '\0') {
		p += strspn(p, " \t\r\n");
		size_t len = strcspn(p, " \t\r\n");
		if (len == 0)
			break;
		if (*p == '#') { /* a comment line */
			p += strcspn(p, "\n");
			continue;
		}
		if (secret_n == SECRET_MAX) {
			snprintf(err, errlen, "%s: more than %d secrets", origin, SECRET_MAX);
			secret_reset();
			return -1;
		}
		if (len < SECRET_MIN_CHARS) {
			snprintf(err, errlen,
			         "%s: secret %d is %zu characters; it needs at least %d "
			         "(make one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' "
			         "\\n')",
			         origin, secret_n + 1, len, SECRET_MIN_CHARS);
			secret_reset();
			return -1;
		}
		secret_derive(secret_n++, p, len);
		p += len;
	}
	if (secret_n == 0) {
		snprintf(err, errlen, "%s holds no secret", origin);
		secret_reset();
		return -1;
	}
	return 0;
}

/* Reads a secret file whole (small); NULL with err. */
static char *
secret_read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot read the secret file %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = calloc(1, SECRET_TEXT_MAX + 1);
	size_t n = buf ? fread(buf, 1, SECRET_TEXT_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > SECRET_TEXT_MAX) {
		snprintf(err, errlen, "%s: the secret file is larger than %d bytes", path,
		         SECRET_TEXT_MAX);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int
secret_init_file(const char *path, char *err, size_t errlen)
{
	char *text = secret_read_file(path, err, errlen);
	if (text == NULL)
		return -1;
	int rc = secret_init_text(text, path, err, errlen);
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

int
secret_create_file(const char *path, char *err, size_t errlen)
{
	if (secret_sodium() != 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return -1;
	}
	uint8_t raw[32];
	char hex[sizeof(raw) * 2 + 1];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	char text[256];
	int n = snprintf(text, sizeof(text),
	                 "# the app secret (cot): keep it out of version "
	                 "control; first line signs, later lines still verify\n%s\n",
	                 hex);
	int ok = write(fd, text, (size_t)n) == n;
	ok &= close(fd) == 0;
	sodium_memzero(raw, sizeof(raw));
	if (!ok) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
secret_init_dev(char *err, size_t errlen)
{
	if (secret_sodium() != 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return -1;
	}
	if (access(SECRET_DEV_FILE, F_OK) != 0) {
		if (secret_create_file(SECRET_DEV_FILE, err, errlen) != 0)
			return -1;
		printf("created %s: the app secret for sessions and tokens (keep it out of "
		       "version control)\n",
		       SECRET_DEV_FILE);
	}
	return secret_init_file(SECRET_DEV_FILE, err, errlen);
}

int
secret_init_export(const char *path, char *err, size_t errlen)
{
	if (path != NULL)
		return secret_init_file(path, err, errlen);
	const char *env = getenv("COT_SECRET");
	if (env != NULL && *env != '\0')
		return secret_init_text(env, "$COT_SECRET", err, errlen);
	const char *file = getenv("COT_SECRET_FILE");
	if (file != NULL && *file != '\0')
		return secret_init_file(file, err, errlen);
	snprintf(err, errlen,
	         "no app secret: sessions, CSRF tokens and signed tokens need "
	         "one. Set COT_SECRET to a random string of 32+ characters (e.g. "
	         "COT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')), or "
	         "pass --secret-file PATH (or set COT_SECRET_FILE); every process of the app "
	         "needs the same one");
	return -1;
}
