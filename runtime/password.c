/*
 * password.c -- password hashing: argon2id through libsodium's
 * crypto_pwhash_str, never a home-made primitive.
 *
 * Cost: t=2 passes over m=19 MiB, one lane -- OWASP's argon2id baseline.
 * Measured on this project's machine (2 cores): 50-57 ms of CPU time per
 * hash (thread CPU time over 15 hashes, so other work on the machine does
 * not count; load average 12-13 at the time, when wall time was 110-330 ms
 * -- 110-290 ms standalone in earlier runs at load 1-20), where libsodium's
 * "interactive" preset (64 MiB) took 3.3 times as long. So an idle core
 * hashes in about 50-60 ms, inside the 50-100 ms aimed at, and the
 * parameters stay; `make bench-password` prints the current cost beside a
 * plain request. The
 * parameters are part of the stored string, so changing them later only
 * makes cot_password_needs_rehash say yes for old hashes: verify, then
 * store a fresh hash.
 *
 * Where it runs: on the handler pool, not on the libmicrohttpd worker that
 * polls the request's connection. A route whose file calls
 * cot_password_hash or cot_password_verify is offloaded automatically
 * (--offload auto; dev: linkcheck.c sees libtcc bind the symbol, export:
 * the object's undefined symbols), its connection suspended while a pool
 * thread runs it (server_pool.c). Before that, a GET sharing
 * the worker with a hashing client waited for the hash (bench_password: p50
 * 0.5 ms -> 225 ms); handing only the hash to another thread would not have
 * helped, since the synchronous handler waits for it all the same. A hash
 * called from shared lib/ code is not seen: say COT_OFFLOAD in the handler
 * file. Still: at most one hash per core at once (a semaphore), so a burst
 * of log-ins cannot take every core or N x 19 MiB, and log-in routes should
 * be rate limited (ratelimit.c).
 *
 * cot_password_verify(NULL, pw) costs the same as a real check, so the time
 * of a failed log-in does not tell whether the account exists.
 */
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "../include/cot.h"
#include "arena.h"
#include "ctx.h"
#include "secret.h"

#define PASSWORD_OPS 2
#define PASSWORD_MEM (19u * 1024 * 1024)

static sem_t password_gate;
/* A hash of nothing anyone types, with the same parameters: what a missing
 * user's log-in is checked against, so it costs as much as a real one. */
static const char password_dummy[] = "$argon2id$v=19$m=19456,t=2,p=1$GIA5xmQZOHEQ6cqWmdQL0A$"
                                     "/uVxMAoH9ZYI/H320pt6ggJNOtzmvnYjI8u9eEjbBII";
static pthread_once_t password_once = PTHREAD_ONCE_INIT;

static void
password_start(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	secret_sodium();
	sem_init(&password_gate, 0, n > 0 ? (unsigned)n : 1);
}

static void
password_enter(void)
{
	pthread_once(&password_once, password_start);
	while (sem_wait(&password_gate) != 0)
		; /* EINTR */
}

static void
password_leave(void)
{
	sem_post(&password_gate);
}

const char *
cot_password_hash(cot_ctx *c, const char *password)
{
	if (password == NULL)
		return NULL;
	char out[crypto_pwhash_STRBYTES];
	password_enter();
	int rc = crypto_pwhash_str(out, password, strlen(password), PASSWORD_OPS, PASSWORD_MEM);
	password_leave();
	return rc == 0 ? arena_strdup(&c->mem, out) : NULL;
}

int
cot_password_verify(const char *hash, const char *password)
{
	if (password == NULL)
		password = "";
	password_enter();
	bool real = hash != NULL && strncmp(hash, "$argon2", 7) == 0;
	int rc = crypto_pwhash_str_verify(real ? hash : password_dummy, password, strlen(password));
	password_leave();
	return real && rc == 0;
}

int
cot_password_needs_rehash(const char *hash)
{
	if (hash == NULL)
		return 1;
	pthread_once(&password_once, password_start);
	return crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPS, PASSWORD_MEM) != 0;
}
