/*
 * linkcheck.c -- only declared libraries are visible to a file.
 *
 * libtcc 0.9.27 resolves every symbol a module leaves undefined (after its
 * own code, cot's API added with tcc_add_symbol, and libtcc1.a) with
 * dlsym(RTLD_DEFAULT, name): anything the cotdev process has loaded. That
 * is libmicrohttpd's gnutls and nettle, libdw's libz and libelf, SQLite...
 * so a handler calling nettle's HMAC worked in development and then failed
 * to link in the export. cotdev is linked with -Wl,--wrap=dlsym, which
 * routes libtcc's dlsym calls (and only the calls made from our own
 * objects: libraries keep the real one) to __wrap_dlsym below. While a
 * scope is entered, a lookup in RTLD_DEFAULT is answered by the policy:
 *
 *   1. the app's shared code (the modules of lib/), other than the file itself;
 *   2. the file's declared libraries, each looked up in its own handle
 *      (dlopen'ed RTLD_LOCAL by libs.c) and accepted only from that
 *      library's own object, as a linker would;
 *   3. the C library and jansson, which cot.h exposes: taken from
 *      RTLD_DEFAULT as the dynamic linker would bind them (so under ASan,
 *      malloc is ASan's), when libc, libm, libpthread, libdl or jansson
 *      defines the name. "The C library" is every object glibc itself
 *      maps: its libraries, the dynamic loader, and the kernel's vDSO,
 *      where glibc binds time() and gettimeofday() (IFUNCs) -- so the
 *      object an address lands in is judged by what it is, not by the
 *      library the name was looked up in;
 *   4. anything else is an error naming where the file first uses the
 *      symbol and, when it can be found, the library to declare.
 *
 * `cotdev export` runs the same policy over each gcc object's undefined
 * symbols (export_check.c), so both accept and reject the same programs.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "compiler.h"
#include "ctoken.h"
#include "file.h"
#include "linkcheck.h"

void *__real_dlsym(void *handle, const char *name);
void *__wrap_dlsym(void *handle, const char *name);

/* The scope of the relocation in progress; only the compiling thread sets
 * it, under the reloader lock, and libtcc runs on that thread. */
static linkcheck_scope *linkcheck_current;

/* Objects whose symbols every file may use, by their file name's start:
 * glibc's own (the parts libs.c never loads: libc, libm, libpthread, libdl,
 * librt, libutil; libm's libmvec; the dynamic loader; the vDSO, also found
 * by address below), jansson, and what gcc or the sanitizers put in every
 * program. */
static const char *const linkcheck_base_names[] = {
        "libc.so",       "libm.so",    "libpthread.so", "libdl.so",    "librt.so",
        "libutil.so",    "libmvec.so", "ld-linux",      "linux-vdso",  "linux-gate",
        "libjansson.so", "libasan.so", "libubsan.so",   "libgcc_s.so", NULL,
};

/* Handles of the objects that define the "always there" names. */
static const char *const linkcheck_base_libs[] = {
        "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "libjansson.so.4", NULL,
};

static bool linkcheck_offload; /* an offload symbol was bound since the reset */

const void *
linkcheck_offload_symbol(const char *name)
{
	static const char *const names[] = {
	        "cot_password_hash",
	        "cot_password_verify",
	        "cot_offload_marker",
	        NULL,
	};
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			for (const compiler_symbol *s = compiler_api; s->name != NULL; s++)
				if (strcmp(s->name, name) == 0)
					return s->addr;
	return NULL;
}

void
linkcheck_offload_reset(void)
{
	linkcheck_offload = false;
}

bool
linkcheck_offload_seen(void)
{
	return linkcheck_offload;
}

void *
__wrap_dlsym(void *handle, const char *name)
{
	linkcheck_scope *s = linkcheck_current;
	const void *offload = handle == RTLD_DEFAULT ? linkcheck_offload_symbol(name) : NULL;
	if (offload != NULL) {
		linkcheck_offload = true;
		return (void *)offload;
	}
	if (s == NULL || handle != RTLD_DEFAULT)
		return __real_dlsym(handle, name);
	void *addr = NULL;
	return linkcheck_resolve(s, name, &addr) == 0 ? addr : NULL;
}

void
linkcheck_enter(linkcheck_scope *s)
{
	linkcheck_current = s;
}

void
linkcheck_leave(void)
{
	linkcheck_current = NULL;
}

/* ==== messages ========================================================= */

static void
linkcheck_error(linkcheck_scope *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	char *nb = realloc(s->errors, s->errlen + (size_t)n + 1);
	if (nb == NULL)
		return;
	s->errors = nb;
	memcpy(s->errors + s->errlen, line, (size_t)n + 1);
	s->errlen += (size_t)n;
	s->nerrors++;
}

/* The first line in `path` where identifier `name` appears; in a function
 * body or initializer (brace depth > 0) when `in_body`. 0 if none. */
static int
linkcheck_scan_use(const char *path, const char *name, bool in_body)
{
	char *text = file_read(path, NULL);
	if (text == NULL)
		return 0;
	ctoken_scanner sc;
	ctoken t, prev = {.kind = CTOKEN_PUNCT, .p = ";", .len = 1};
	int line = 0;
	ctoken_init(&sc, text);
	while (line == 0 && ctoken_next(&sc, &t)) {
		bool member = prev.kind == CTOKEN_PUNCT &&
		              (ctoken_is(&prev, ".") || ctoken_is(&prev, ">"));
		if (t.kind == CTOKEN_IDENT && ctoken_is(&t, name) && !member &&
		    (!in_body || t.depth > 0))
			line = t.line;
		prev = t;
	}
	free(text);
	return line;
}

static int
linkcheck_find_use(const char *path, const deps_list *deps, const char *name, const char **file)
{
	for (int pass = 0; pass < 2; pass++) {
		int n = deps ? deps->n : 0;
		for (int i = -1; i < n; i++) {
			const char *p = i < 0 ? path : deps->paths[i];
			int line = linkcheck_scan_use(p, name, pass == 0);
			if (line > 0) {
				*file = p;
				return line;
			}
		}
	}
	return 0;
}

int
linkcheck_first_use(const char *path, const deps_list *deps, const char *name, const char **file)
{
	int line = linkcheck_find_use(path, deps, name, file);
	/* headers often rename: nettle's sha256_init is a macro for
	 * nettle_sha256_init; look for the name without its prefix */
	const char *us = strchr(name + 1, '_');
	if (line == 0 && us != NULL && us[1] != '\0')
		line = linkcheck_find_use(path, deps, us + 1, file);
	if (line == 0) {
		*file = path;
		line = 1;
	}
	return line;
}

/* Says why `name` may not be used, at its first use. */
static void
linkcheck_reject(linkcheck_scope *s, const char *name, const char *found_in)
{
	const char *file;
	int line = linkcheck_first_use(s->path, s->deps, name, &file);
	const libs_pkg *p = libs_any_provider(name);
	char decl[160];
	if (p != NULL) {
		linkcheck_error(s,
		                "%s:%d: error: undefined symbol '%s': it is in %s, which %s "
		                "does not declare; add COT_LIBS(\"%s\")",
		                file, line, name, p->nhandles ? p->sonames[0] : p->name, s->path,
		                p->name);
	} else if (found_in != NULL) {
		libs_suggest(found_in, decl, sizeof(decl));
		const char *base = strrchr(found_in, '/');
		linkcheck_error(s,
		                "%s:%d: error: undefined symbol '%s': it is in %s, which %s "
		                "does not declare (cotdev happens to load it; an export would not "
		                "link it); add COT_LIBS(\"%s\")",
		                file, line, name, base ? base + 1 : found_in, s->path, decl);
	} else {
		linkcheck_error(s,
		                "%s:%d: error: undefined symbol '%s': not in cot.h, the C "
		                "library, lib/ or a library %s declares with COT_LIBS",
		                file, line, name, s->path);
	}
}

/* ==== the policy ======================================================= */

/* The file name of the object defining address a ("" for the program);
 * *vdso tells whether that object is the kernel's vDSO. */
static const char *
linkcheck_object_of(void *a, bool *vdso)
{
	Dl_info info;
	struct link_map *map = NULL;
	*vdso = false;
	if (dladdr1(a, &info, (void **)&map, RTLD_DL_LINKMAP) == 0 || map == NULL)
		return NULL;
	/* the vDSO by its address, whatever the loader names it on this arch */
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
	*vdso = ehdr != 0 && (unsigned long)info.dli_fbase == ehdr;
	return map->l_name;
}

/* True when address a lies in an object every file may use: glibc's own
 * (the vDSO included), jansson, the program's copies of libc data. */
static bool
linkcheck_is_base_addr(void *a)
{
	bool vdso;
	const char *path = a ? linkcheck_object_of(a, &vdso) : NULL;
	if (path == NULL)
		return false;
	if (vdso)
		return true;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (*base == '\0')
		return true; /* the program itself: copies of libc data (stdout, environ) */
	for (int i = 0; linkcheck_base_names[i] != NULL; i++)
		if (strncmp(base, linkcheck_base_names[i], strlen(linkcheck_base_names[i])) == 0)
			return true;
	return false;
}

/* True when glibc (libc, libm, libpthread, libdl) or jansson defines `name`
 * itself; the address may be in the vDSO (an IFUNC like time). */
static bool
linkcheck_in_base(const char *name)
{
	static void *handles[sizeof(linkcheck_base_libs) / sizeof(linkcheck_base_libs[0])];
	static bool opened;
	if (!opened) {
		for (int i = 0; linkcheck_base_libs[i] != NULL; i++)
			handles[i] = dlopen(linkcheck_base_libs[i], RTLD_LAZY | RTLD_LOCAL);
		opened = true;
	}
	for (int i = 0; linkcheck_base_libs[i] != NULL; i++) {
		void *a = handles[i] ? __real_dlsym(handles[i], name) : NULL;
		if (a != NULL && linkcheck_is_base_addr(a))
			return true;
	}
	return false;
}

static void
linkcheck_add_owner(linkcheck_scope *s, void *owner)
{
	for (int i = 0; i < s->nowners; i++)
		if (s->owners[i] == owner)
			return;
	void **no = realloc(s->owners, (size_t)(s->nowners + 1) * sizeof(void *));
	if (no == NULL)
		return;
	s->owners = no;
	s->owners[s->nowners++] = owner;
}

int
linkcheck_resolve(linkcheck_scope *s, const char *name, void **addr)
{
	void *owner = NULL;
	*addr = s->shared ? s->shared(s->shared_ctx, name, &owner) : NULL;
	if (*addr != NULL) {
		if (owner != NULL)
			linkcheck_add_owner(s, owner);
		return 0;
	}
	for (int i = 0; s->libs != NULL && i < s->libs->n; i++)
		if ((*addr = libs_own_symbol(s->libs->pkgs[i], name)) != NULL)
			return 0;
	void *a = __real_dlsym(RTLD_DEFAULT, name);
	bool vdso;
	const char *obj = a ? linkcheck_object_of(a, &vdso) : NULL;
	if (linkcheck_in_base(name)) {
		/* bind as the dynamic linker would (ASan's malloc, the program's
		 * copy of stdout, the vDSO's time), else libc's own */
		*addr = linkcheck_is_base_addr(a) ? a : NULL;
		if (*addr == NULL)
			for (int i = 0; linkcheck_base_libs[i] != NULL && *addr == NULL; i++) {
				void *h = dlopen(linkcheck_base_libs[i], RTLD_LAZY | RTLD_NOLOAD);
				*addr = h ? __real_dlsym(h, name) : NULL;
				if (h)
					dlclose(h);
			}
		if (*addr != NULL)
			return 0;
	}
	linkcheck_reject(s, name, a != NULL && obj != NULL && *obj ? obj : NULL);
	return -1;
}

void
linkcheck_scope_free(linkcheck_scope *s)
{
	free(s->errors);
	free(s->owners);
	s->errors = NULL;
	s->owners = NULL;
	s->errlen = 0;
	s->nerrors = s->nowners = 0;
}
