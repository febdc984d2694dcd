/*
 * tcclines.c -- PC to (file, line, function) for libtcc in-memory modules.
 *
 * Why the in-memory stabs: with "-g", libtcc 0.9.27 writes a stabs table into
 * the TCCState's ".stab" and ".stabstr" sections while it compiles, and
 * tcc_relocate applies the table's relocations, so each function's N_FUN
 * entry holds (the low 32 bits of) its final address. The table is already
 * there after every compile: reading it costs microseconds. The other ways --
 * compiling a second time to an object file, or linking a shared object and
 * dlopen()ing it, then reading .stab with libelf -- cost a second compile or a
 * link, a file write and a dlopen per reload (measured in docs/tcc-debug.md).
 *
 * The price is two internals of this libtcc: the exported (not public)
 * function find_section(), and the first two fields of its Section struct
 * (data_offset, data), unchanged in tcc.h since 2002. Debian builds libtcc.a
 * from separate objects, so find_section is a global symbol; if a future
 * libtcc hides it, linking fails loudly rather than misreading memory. The
 * table is validated while it is read (string offsets, addresses inside the
 * module); anything odd yields an empty table, never a wrong line.
 *
 * The stabs shape produced by this tcc (checked with a dump):
 *	N_SO   "dir/"  addr(text start)     N_SO "file.c" addr(text start)
 *	N_SOL  "helper.h"  (file of the code that follows, for #include'd code)
 *	N_FUN  "name:F1"   addr(function)   the 32 low bits of the address
 *	N_SLINE desc=line  value=offset from the function start
 *	N_SO   ""          addr(end of the unit's text)
 * A function ends where the next one starts, or at the unit's end.
 *
 * Everything is copied into one malloc'd block at build time, so lookups are
 * a pair of binary searches over immutable arrays: safe in a signal handler,
 * and independent of the TCCState, which may be deleted right after.
 */
#include "tcclines.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ------------------------------------------------------------------------ */
/* libtcc internals                                                         */

/* The leading fields of libtcc's internal Section (tcc.h). */
struct tcc_section_head {
	unsigned long data_offset; /* bytes used */
	unsigned char *data;       /* contents */
};

/* Exported by libtcc.a (tccelf.c); creates an empty section when missing. */
extern struct tcc_section_head *find_section(TCCState *s, const char *name);

/* One stabs entry, as in <stab.h> / tcc's Stab_Sym. */
struct stab_sym {
	uint32_t n_strx;
	uint8_t n_type;
	uint8_t n_other;
	uint16_t n_desc;
	uint32_t n_value;
};

enum { N_FUN = 0x24, N_SLINE = 0x44, N_SO = 0x64, N_SOL = 0x84 };

/* ------------------------------------------------------------------------ */
/* The table                                                                */

struct tl_line {
	uintptr_t pc;     /* first byte of this line's code */
	const char *file; /* file in effect (main file or #included one) */
	int line;
};

struct tl_func {
	uintptr_t start, end; /* [start, end) */
	const char *name;
	size_t first, count; /* its entries in lines[] */
};

struct tcclines {
	uintptr_t lo, hi; /* the module's memory */
	size_t nfuncs, nlines;
	struct tl_func *funcs; /* sorted by start, disjoint */
	struct tl_line *lines; /* per function, sorted by pc */
	char *strs;            /* copy of .stabstr, then function names */
	/* shared (lib/) modules this module calls: their code counts as its
	 * own for traces and the watchdog; they outlive it (reloader_module.c) */
	const struct tcclines **links;
	size_t nlinks;
};

/* The raw table read from a TCCState, before it is copied. */
struct raw_stabs {
	const struct stab_sym *sym;
	size_t nsym;
	const char *str;
	size_t strsize;
	uintptr_t lo, hi;
};

/* Widen a 32-bit stabs address to a full one, knowing it lies above lo. */
static uintptr_t
tcclines_widen(const struct raw_stabs *r, uint32_t v)
{
	return r->lo + (uint32_t)(v - (uint32_t)r->lo);
}

/* The string at offset strx, or NULL when the offset is out of range. */
static const char *
tcclines_stab_str(const struct raw_stabs *r, uint32_t strx)
{
	if (strx >= r->strsize)
		return NULL;
	return r->str + strx;
}

/* ------------------------------------------------------------------------ */
/* Building                                                                 */

/* Counts from a first pass, to size the block. */
struct counts {
	size_t nfuncs, nlines, namebytes;
};

/*
 * First pass: count functions, line entries and name bytes, and check every
 * string offset. Returns 0 when the table looks wrong.
 */
static int
tcclines_count_stabs(const struct raw_stabs *r, struct counts *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < r->nsym; i++) {
		const struct stab_sym *e = &r->sym[i];
		const char *s = tcclines_stab_str(r, e->n_strx);
		if (s == NULL || memchr(s, '\0', r->strsize - e->n_strx) == NULL)
			return 0;
		if (e->n_type == N_FUN && *s != '\0') {
			c->nfuncs++;
			c->namebytes += strcspn(s, ":") + 1;
		} else if (e->n_type == N_SLINE) {
			c->nlines++;
		}
	}
	return 1;
}

/* State of the second pass. */
struct filler {
	struct tcclines *t;
	char *names;          /* next free byte for function names */
	const char *file;     /* current file, inside t->strs */
	struct tl_func *open; /* function being filled, or NULL */
};

/* Close the open function at pc. Returns 0 when that makes no sense. */
static int
tcclines_close_func(struct filler *f, uintptr_t pc)
{
	struct tl_func *fn = f->open;
	if (fn == NULL)
		return 1;
	f->open = NULL;
	if (pc < fn->start)
		return 0;
	fn->end = pc;
	return 1;
}

/* Start a function named by stabs string s (name:F1) at pc. */
static void
tcclines_open_func(struct filler *f, const char *s, uintptr_t pc)
{
	struct tcclines *t = f->t;
	struct tl_func *fn = &t->funcs[t->nfuncs++];
	size_t len = strcspn(s, ":");
	memcpy(f->names, s, len);
	f->names[len] = '\0';
	fn->name = f->names;
	f->names += len + 1;
	fn->start = fn->end = pc;
	fn->first = t->nlines;
	fn->count = 0;
	f->open = fn;
}

/* Handle one stabs entry of the second pass. Returns 0 on a bad table. */
static int
tcclines_fill_one(struct filler *f, const struct raw_stabs *r, const struct stab_sym *e)
{
	struct tcclines *t = f->t;
	const char *s = t->strs + e->n_strx; /* checked by tcclines_count_stabs */
	size_t len = strlen(s);
	if (e->n_type == N_SO) {
		if (len == 0)
			return tcclines_close_func(f, tcclines_widen(r, e->n_value));
		if (s[len - 1] != '/') /* "dir/" entries name the cwd only */
			f->file = s;
		return tcclines_close_func(f, tcclines_widen(r, e->n_value));
	}
	if (e->n_type == N_SOL) {
		f->file = s;
	} else if (e->n_type == N_FUN && len > 0) {
		uintptr_t pc = tcclines_widen(r, e->n_value);
		if (!tcclines_close_func(f, pc))
			return 0;
		tcclines_open_func(f, s, pc);
	} else if (e->n_type == N_SLINE && f->open != NULL) {
		struct tl_line *l = &t->lines[t->nlines++];
		l->pc = f->open->start + e->n_value;
		l->file = f->file;
		l->line = e->n_desc;
		f->open->count++;
	}
	return 1;
}

/* Order functions by start address. */
static int
tcclines_func_cmp(const void *a, const void *b)
{
	const struct tl_func *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* Check what lookups rely on: functions inside [lo, hi), sorted, disjoint. */
static int
tcclines_table_ok(const struct tcclines *t)
{
	for (size_t i = 0; i < t->nfuncs; i++) {
		const struct tl_func *fn = &t->funcs[i];
		if (fn->start < t->lo || fn->end > t->hi || fn->end <= fn->start)
			return 0;
		if (i > 0 && fn->start < t->funcs[i - 1].end)
			return 0;
		for (size_t k = 0; k < fn->count; k++) {
			const struct tl_line *l = &t->lines[fn->first + k];
			if (l->pc < fn->start || l->pc >= fn->end)
				return 0;
			if (k > 0 && l->pc < l[-1].pc)
				return 0;
		}
	}
	return 1;
}

/* Second pass: fill t from r. Returns 0 when the table is inconsistent. */
static int
tcclines_fill_stabs(struct tcclines *t, const struct raw_stabs *r, char *names)
{
	struct filler f = {t, names, "?", NULL};
	t->nfuncs = t->nlines = 0;
	for (size_t i = 0; i < r->nsym; i++)
		if (!tcclines_fill_one(&f, r, &r->sym[i]))
			return 0;
	if (f.open != NULL) /* unit without an end marker */
		return 0;
	qsort(t->funcs, t->nfuncs, sizeof *t->funcs, tcclines_func_cmp);
	return tcclines_table_ok(t);
}

/* Read the raw table of s; leaves it empty when s has none. */
static void
tcclines_read_raw(TCCState *s, struct raw_stabs *r)
{
	struct tcc_section_head *stab = find_section(s, ".stab");
	struct tcc_section_head *str = find_section(s, ".stabstr");
	r->nsym = 0;
	r->strsize = 0;
	if (stab == NULL || str == NULL || stab->data == NULL || str->data == NULL ||
	    stab->data_offset % sizeof *r->sym != 0)
		return;
	r->sym = (const struct stab_sym *)stab->data;
	r->nsym = stab->data_offset / sizeof *r->sym;
	r->str = (const char *)str->data;
	r->strsize = str->data_offset;
}

tcclines *
tcclines_build(TCCState *s, const void *code, size_t size)
{
	struct raw_stabs r;
	struct counts c;
	tcclines_read_raw(s, &r);
	r.lo = (uintptr_t)code;
	r.hi = r.lo + size;
	if (!tcclines_count_stabs(&r, &c)) {
		memset(&c, 0, sizeof c);
		r.nsym = r.strsize = 0;
	}
	size_t bytes = sizeof(struct tcclines) + c.nfuncs * sizeof(struct tl_func) +
	               c.nlines * sizeof(struct tl_line) + r.strsize + c.namebytes;
	struct tcclines *t = calloc(1, bytes);
	if (t == NULL)
		return NULL;
	t->lo = r.lo;
	t->hi = r.hi;
	t->funcs = (struct tl_func *)(t + 1);
	t->lines = (struct tl_line *)(t->funcs + c.nfuncs);
	t->strs = (char *)(t->lines + c.nlines);
	if (r.strsize > 0)
		memcpy(t->strs, r.str, r.strsize);
	if (!tcclines_fill_stabs(t, &r, t->strs + r.strsize))
		t->nfuncs = t->nlines = 0; /* never a wrong line */
	return t;
}

/* ------------------------------------------------------------------------ */
/* Lookup (async-signal-safe: reads only)                                   */

/* The function containing pc, or NULL. */
static const struct tl_func *
tcclines_find_func(const tcclines *t, uintptr_t pc)
{
	size_t lo = 0, hi = t->nfuncs;
	while (lo < hi) { /* first function with start > pc */
		size_t mid = lo + (hi - lo) / 2;
		if (t->funcs[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || pc >= t->funcs[lo - 1].end)
		return NULL;
	return &t->funcs[lo - 1];
}

/* The last line entry of fn at or before pc, or NULL. */
static const struct tl_line *
tcclines_find_line(const tcclines *t, const struct tl_func *fn, uintptr_t pc)
{
	const struct tl_line *l = t->lines + fn->first;
	size_t lo = 0, hi = fn->count;
	while (lo < hi) { /* first entry with pc > target */
		size_t mid = lo + (hi - lo) / 2;
		if (l[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? NULL : &l[lo - 1];
}

int
tcclines_lookup(const tcclines *t, uintptr_t pc, const char **file, int *line, const char **func)
{
	if (t == NULL)
		return 0;
	if (pc < t->lo || pc >= t->hi) {
		for (size_t i = 0; i < t->nlinks; i++)
			if (pc >= t->links[i]->lo && pc < t->links[i]->hi)
				return tcclines_lookup(t->links[i], pc, file, line, func);
		return 0;
	}
	const struct tl_func *fn = tcclines_find_func(t, pc);
	if (fn == NULL)
		return 0;
	const struct tl_line *l = tcclines_find_line(t, fn, pc);
	if (l == NULL)
		return 0;
	*file = l->file;
	*line = l->line;
	*func = fn->name;
	return 1;
}

int
tcclines_contains(const tcclines *t, uintptr_t pc)
{
	if (t == NULL)
		return 0;
	if (pc >= t->lo && pc < t->hi)
		return 1;
	for (size_t i = 0; i < t->nlinks; i++)
		if (pc >= t->links[i]->lo && pc < t->links[i]->hi)
			return 1;
	return 0;
}

int
tcclines_link(tcclines *t, const tcclines *const *links, size_t n)
{
	if (t == NULL || n == 0)
		return 0;
	const struct tcclines **v = malloc(n * sizeof(*v));
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i] = links[i];
	free(t->links);
	t->links = v;
	t->nlinks = n;
	return 0;
}

size_t
tcclines_count(const tcclines *t)
{
	return t == NULL ? 0 : t->nfuncs;
}

void
tcclines_free(tcclines *t)
{
	if (t != NULL)
		free(t->links);
	free(t);
}

/* ------------------------------------------------------------------------ */
/* Code memory the runtime owns                                             */

void *
tcclines_relocate(TCCState *s, size_t *size)
{
	int need = tcc_relocate(s, NULL);
	if (need <= 0)
		return NULL;
	size_t len = (size_t)need;
	void *code = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return NULL;
	if (tcc_relocate(s, code) < 0) {
		munmap(code, len);
		return NULL;
	}
	*size = len;
	return code;
}

void
tcclines_unmap(void *code, size_t size)
{
	if (code != NULL)
		munmap(code, size);
}
