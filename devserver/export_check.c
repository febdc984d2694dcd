/*
 * export_check.c -- the export links only what development links.
 *
 * gcc links every handler against the whole runtime and every library any
 * file declares, so on its own it would accept a handler that calls
 * sqlite3_open or router_add, or zlib declared only by another file --
 * programs `cotdev run` rejects. Before linking, each object's undefined
 * symbols go through the same policy linkcheck.c applies to libtcc in
 * development: cot's API (compiler_api.c), the app's shared lib/ objects, the C
 * library and jansson, and the libraries this file declares. The error
 * names the same file:line and library as in development.
 *
 * The symbols are read straight from the relocatable ELF object (its
 * .symtab); names starting with "__" (gcc's helpers from libgcc, the
 * stack protector) and _GLOBAL_OFFSET_TABLE_ are left to the linker.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "export_check.h"
#include "linkcheck.h"

static void
export_symbols_add(export_symbols *s, const char *name)
{
	char **nv = realloc(s->names, (size_t)(s->n + 1) * sizeof(char *));
	if (nv == NULL)
		return;
	s->names = nv;
	s->names[s->n++] = strdup(name);
}

/* Appends the global symbols of obj (defined ones, or undefined ones). */
int
export_symbols_read(const char *obj, bool defined, export_symbols *out)
{
	int fd = open(obj, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	const unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
	int rc = -1;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size)
		goto done;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *strs = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > size ||
		    strs->sh_offset + strs->sh_size > size)
			goto done;
		const Elf64_Sym *sym = (const Elf64_Sym *)(m + sh[i].sh_offset);
		size_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
		const char *names = (const char *)(m + strs->sh_offset);
		for (size_t k = 1; k < nsym; k++) {
			int bind = ELF64_ST_BIND(sym[k].st_info);
			if ((bind != STB_GLOBAL && bind != STB_WEAK) ||
			    sym[k].st_name >= strs->sh_size)
				continue;
			if ((sym[k].st_shndx == SHN_UNDEF) != !defined)
				continue;
			export_symbols_add(out, names + sym[k].st_name);
		}
	}
	rc = 0;
done:
	munmap((void *)m, size);
	return rc;
}

void
export_symbols_free(export_symbols *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->n = 0;
}

static bool
export_symbols_has(const export_symbols *s, const char *name)
{
	for (int i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

static bool
export_is_api(const char *name)
{
	for (const compiler_symbol *s = compiler_api; s->name != NULL; s++)
		if (strcmp(s->name, name) == 0)
			return true;
	return false;
}

int
export_check_object(const char *src, const char *obj, const libs_set *libs,
                    const export_symbols *shared, const export_symbols *own)
{
	export_symbols undef = {0};
	if (export_symbols_read(obj, false, &undef) != 0) {
		fprintf(stderr, "cotdev export: cannot read the symbols of %s\n", obj);
		return 1;
	}
	deps_list deps = {0};
	deps_scan(src, NULL, &deps);
	linkcheck_scope scope = {.path = src, .deps = &deps, .libs = libs};
	for (int i = 0; i < undef.n; i++) {
		const char *name = undef.names[i];
		void *addr;
		if (strncmp(name, "__", 2) == 0 || strcmp(name, "_GLOBAL_OFFSET_TABLE_") == 0 ||
		    export_is_api(name) ||
		    (export_symbols_has(shared, name) && !export_symbols_has(own, name)))
			continue;
		linkcheck_resolve(&scope, name, &addr);
	}
	int failed = scope.nerrors;
	if (failed) {
		char *msg = compiler_format(scope.errors);
		fprintf(stderr, "%s\n", msg ? msg : scope.errors);
		free(msg);
	}
	linkcheck_scope_free(&scope);
	deps_free(&deps);
	export_symbols_free(&undef);
	return failed;
}

/* ==== the whole app ==================================================== */

int
export_libs_declared(char *const *files, int n, libs_set *sets)
{
	int failed = 0;
	for (int i = 0; i < n; i++) {
		deps_list deps = {0};
		char *error = NULL;
		deps_scan(files[i], NULL, &deps);
		if (libs_declared(files[i], NULL, &deps, &sets[i], &error) != 0) {
			char *msg = compiler_format(error);
			fprintf(stderr, "%s\n", msg ? msg : error);
			free(msg);
			free(error);
			failed++;
		}
		deps_free(&deps);
	}
	return failed;
}

/* Whether the undefined symbols u name an offload symbol or a symbol of
 * a lib/ object already known to be offloaded (defs[k], off[k]). */
static bool
export_offload_refers(const export_symbols *u, const export_symbols *defs, const bool *off, int nl)
{
	for (int k = 0; k < u->n; k++) {
		if (linkcheck_offload_symbol(u->names[k]) != NULL)
			return true;
		for (int l = 0; l < nl; l++)
			if (off[l] && export_symbols_has(&defs[l], u->names[k]))
				return true;
	}
	return false;
}

int
export_offload_write(const char *tmp, int nh, int nl, const char *path)
{
	char obj[4200];
	export_symbols *defs = calloc((size_t)nl + 1, sizeof(*defs));
	export_symbols *undefs = calloc((size_t)nl + 1, sizeof(*undefs));
	bool *off = calloc((size_t)nl + 1, sizeof(bool));
	FILE *f = defs && undefs && off ? fopen(path, "w") : NULL;
	for (int l = 0; f != NULL && l < nl; l++) {
		snprintf(obj, sizeof(obj), "%s/l_%d.o", tmp, l);
		export_symbols_read(obj, true, &defs[l]);
		export_symbols_read(obj, false, &undefs[l]);
	}
	/* lib/ code calling lib/ code that hashes: until nothing changes */
	for (bool more = f != NULL; more;) {
		more = false;
		for (int l = 0; l < nl; l++)
			if (!off[l] && export_offload_refers(&undefs[l], defs, off, nl))
				off[l] = more = true;
	}
	if (f != NULL)
		fprintf(f, "/* generated by cotdev export: 1 for a handler file whose routes run "
		           "on the handler pool */\nconst unsigned char app_offload[] = {\n");
	for (int i = 0; f != NULL && i < nh; i++) {
		snprintf(obj, sizeof(obj), "%s/h_%d.o", tmp, i);
		export_symbols undef = {0};
		export_symbols_read(obj, false, &undef);
		fprintf(f, "\t%d,\n", export_offload_refers(&undef, defs, off, nl));
		export_symbols_free(&undef);
	}
	for (int l = 0; l < nl && defs && undefs; l++) {
		export_symbols_free(&defs[l]);
		export_symbols_free(&undefs[l]);
	}
	free(defs);
	free(undefs);
	free(off);
	if (f == NULL)
		return -1;
	fprintf(f, "\t0\n};\n");
	return fclose(f);
}

int
export_check_all(const char *tmp, char *const *handlers, int nh, const libs_set *hlibs,
                 char *const *libsrc, int nl, const libs_set *llibs)
{
	export_symbols shared = {0};
	char obj[4200];
	int failed = 0;
	for (int i = 0; i < nl; i++) {
		snprintf(obj, sizeof(obj), "%s/l_%d.o", tmp, i);
		export_symbols_read(obj, true, &shared);
	}
	for (int i = 0; i < nl; i++) {
		export_symbols own = {0};
		snprintf(obj, sizeof(obj), "%s/l_%d.o", tmp, i);
		export_symbols_read(obj, true, &own);
		failed += export_check_object(libsrc[i], obj, &llibs[i], &shared, &own) != 0;
		export_symbols_free(&own);
	}
	for (int i = 0; i < nh; i++) {
		snprintf(obj, sizeof(obj), "%s/h_%d.o", tmp, i);
		failed += export_check_object(handlers[i], obj, &hlibs[i], &shared, NULL) != 0;
	}
	export_symbols_free(&shared);
	return failed;
}
