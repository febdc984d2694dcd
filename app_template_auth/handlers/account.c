/*
 * account.c -- sign up, log in, log out (cotdev new --auth).
 *
 *   GET  /signup      the form (templates/signup.html)
 *   POST /signup      creates the user, logs them in -> 303 /notes
 *   GET  /login       the form (templates/login.html)
 *   POST /login       checks the password -> 303 /notes, or 401 and the form
 *   POST /logout      ends the session -> 303 /
 *   POST /api/token   JSON {email, password} -> {token, expires_in}: a JWT
 *                     for API clients (Authorization: Bearer TOKEN)
 *
 * Passwords are hashed with argon2id (cot_password_hash); log-ins are rate
 * limited per address and per email, and take the same time whether the
 * email exists or not. Log-in regenerates the session (a session planted
 * before log-in never gains the user). Every form carries {{{csrf_field}}}.
 */
#include <cot.h>
#include <jansson.h> /* after cot.h: cot.h makes it work under tcc */
#include <string.h>

#include "user.h"

#define PASSWORD_MIN 8
#define TOKEN_TTL    3600

/* templates/NAME with the entered email and an error message (or none). */
static cot_result
form_page(cot_ctx *c, int status, const char *name, const char *title, const char *email,
          const char *error)
{
	json_t *page = page_data(c, title);
	json_object_set_new(page, "email", json_string(email ? email : ""));
	if (error != NULL)
		json_object_set_new(page, "error", json_string(error));
	cot_result r = cot_render(c, status, name, page);
	json_decref(page);
	return r;
}

/* Log-in attempts: 10 a minute from one address, 5 a minute for one email. */
static int
too_many(cot_ctx *c, const char *email)
{
	int wait = cot_rate_limit(c, "login-ip", NULL, 10, 60);
	if (wait == 0 && email != NULL)
		wait = cot_rate_limit(c, "login-email", email, 5, 60);
	return wait;
}

/* The user of email if password is theirs; NULL otherwise (same time). */
static cot_row *
check_password(cot_ctx *c, const char *email, const char *password)
{
	cot_row *u = cot_db_one(c, "SELECT id, email, password_hash FROM users WHERE email = ?",
	                        email ? email : "");
	if (!cot_password_verify(u ? cot_row_text(u, "password_hash") : NULL, password))
		return NULL;
	if (cot_password_needs_rehash(cot_row_text(u, "password_hash")))
		cot_db_exec(c, "UPDATE users SET password_hash = ? WHERE id = ?",
		            cot_password_hash(c, password), cot_row_int(u, "id"));
	return u;
}

/* A new session for the user: regenerate first (session fixation). */
static cot_result
log_in(cot_ctx *c, cot_row *u)
{
	cot_session_regenerate(c);
	cot_session_set(c, "user_id", cot_sprintf(c, "%lld", cot_row_int(u, "id")));
	return cot_redirect(c, 303, "/notes");
}

static cot_result
signup_form(cot_ctx *c)
{
	return form_page(c, 200, "signup.html", "Sign up", NULL, NULL);
}

static cot_result
signup(cot_ctx *c)
{
	const char *email = cot_form(c, "email"), *password = cot_form(c, "password");
	int wait = cot_rate_limit(c, "signup-ip", NULL, 10, 60);
	if (wait > 0)
		return cot_fail(c, 429, "too many sign-ups from your address: try again in %d s",
		                wait);
	if (email == NULL || strchr(email, '@') == NULL || strlen(email) > 254)
		return form_page(c, 422, "signup.html", "Sign up", email,
		                 "Enter an email address.");
	if (password == NULL || strlen(password) < PASSWORD_MIN)
		return form_page(c, 422, "signup.html", "Sign up", email,
		                 "Choose a password of at least 8 characters.");
	if (cot_db_one(c, "SELECT id FROM users WHERE email = ?", email) != NULL)
		return form_page(c, 422, "signup.html", "Sign up", email,
		                 "That email already has an account: log in instead.");
	cot_row *u = cot_db_one(c,
	                        "INSERT INTO users (email, password_hash) VALUES (?, ?) "
	                        "RETURNING id, email",
	                        email, cot_password_hash(c, password));
	if (u == NULL)
		return cot_fail(c, 500, "the account was not stored");
	return log_in(c, u);
}

static cot_result
login_form(cot_ctx *c)
{
	return form_page(c, 200, "login.html", "Log in", NULL, NULL);
}

static cot_result
login(cot_ctx *c)
{
	const char *email = cot_form(c, "email"), *password = cot_form(c, "password");
	int wait = too_many(c, email);
	if (wait > 0)
		return cot_fail(c, 429, "too many log-in attempts: try again in %d s", wait);
	cot_row *u = check_password(c, email, password);
	if (u == NULL)
		return form_page(c, 401, "login.html", "Log in", email,
		                 "That email and password do not match an account.");
	return log_in(c, u);
}

static cot_result
logout(cot_ctx *c)
{
	cot_session_clear(c);
	return cot_redirect(c, 303, "/");
}

static cot_result
api_token(cot_ctx *c)
{
	json_t *in = cot_body_json(c);
	const char *email = json_string_value(json_object_get(in, "email"));
	const char *password = json_string_value(json_object_get(in, "password"));
	int wait = too_many(c, email);
	if (wait > 0)
		return cot_fail(c, 429, "too many log-in attempts: try again in %d s", wait);
	cot_row *u = check_password(c, email, password);
	if (u == NULL)
		return cot_fail(c, 401, "that email and password do not match an account");
	json_t *claims = json_pack("{s:I, s:s}", "uid", (json_int_t)cot_row_int(u, "id"), "sub",
	                           cot_row_text(u, "email"));
	const char *token = cot_jwt_sign(c, claims, TOKEN_TTL);
	json_decref(claims);
	return cot_json(c, 200, "{s:s, s:i}", "token", token ? token : "", "expires_in", TOKEN_TTL);
}

COT_ROUTES(COT_GET("/signup", signup_form), COT_POST("/signup", signup),
           COT_GET("/login", login_form), COT_POST("/login", login), COT_POST("/logout", logout),
           COT_POST("/api/token", api_token), )
