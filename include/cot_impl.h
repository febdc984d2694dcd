/*
 * cot_impl.h -- the machinery behind cot.h's macros, included by cot.h.
 *
 * Nothing here is called by name from a handler: these are the tables
 * COT_ROUTES and COT_MIDDLEWARE emit, the typed values the cot_db_* and
 * cot_jw_* macros build with _Generic, the argument-counting plumbing, and
 * the __atomic shims jansson.h needs under tcc. It is a header of its own so
 * cot.h reads as the API; like cot.h it uses only C11 that tcc 0.9.27 and
 * gcc both accept.
 */
#ifndef COT_IMPL_H
#define COT_IMPL_H

/* ---- route and middleware tables ------------------------------------- */

/* One entry of a module's route table; build it with COT_GET and friends. */
typedef struct cot_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/notes/:id": literal segments and :params */
	cot_handler handler;
	int line; /* line of the COT_GET(...) in the handler file */
} cot_route;

/* A module's route table, as COT_ROUTES emits it. */
typedef struct cot_module {
	int abi;          /* COT_ABI of the cot.h the module was built with */
	const char *file; /* __FILE__ of the module */
	const cot_route *routes;
	int nroutes;
} cot_module;

#define COT_ABI 1

/*
 * The symbol COT_ROUTES defines. The dev server looks it up in each compiled
 * module; `cotdev export` renames it per translation unit with
 * -DCOT_MODULE_SYMBOL=cot_module_N so many modules link into one binary.
 */
#ifndef COT_MODULE_SYMBOL
#define COT_MODULE_SYMBOL cot_module_table
#endif

/* A file's middleware hooks, as COT_MIDDLEWARE emits them. */
typedef struct cot_middleware {
	int abi;
	const char *file;
	cot_handler before; /* may be NULL */
	cot_handler after;  /* may be NULL */
} cot_middleware;

/* What COT_OFFLOAD refers to: a file that uses it is put on the handler
 * pool (dev: the symbol is bound through linkcheck.c; export: it is among
 * the object's undefined symbols). Defined in runtime/pool.c. */
extern const int cot_offload_marker;

#ifndef COT_MIDDLEWARE_SYMBOL
#define COT_MIDDLEWARE_SYMBOL cot_middleware_table
#endif

/* ---- jansson under tcc ------------------------------------------------ */

/*
 * jansson.h's inline json_incref/json_decref use __atomic builtins that tcc
 * 0.9.27 lacks; under tcc they are routed to these two functions (json.c),
 * which handlers never call themselves.
 */
size_t cot_atomic_add_size(volatile size_t *p, size_t v);
size_t cot_atomic_sub_size(volatile size_t *p, size_t v);
#if defined(__TINYC__) && !defined(__ATOMIC_RELEASE)
#define __ATOMIC_ACQUIRE                2
#define __ATOMIC_RELEASE                3
#define __atomic_add_fetch(p, v, order) cot_atomic_add_size((p), (v))
#define __atomic_sub_fetch(p, v, order) cot_atomic_sub_size((p), (v))
#endif

/* ---- typed database parameters (cot_db_*) ----------------------------- */

/* One bound parameter; made by the cot_db_* macros, cot_null and cot_blob. */
typedef struct cot_value {
	int type; /* COT_VALUE_* */
	union {
		long long i;
		double d;
		const char *s;
		struct {
			const void *p;
			size_t n;
		} b;
	} u;
} cot_value;

enum {
	COT_VALUE_NULL,
	COT_VALUE_INT,
	COT_VALUE_DOUBLE,
	COT_VALUE_TEXT,
	COT_VALUE_BLOB,
	COT_VALUE_BAD
};

static inline cot_value
cot_value_int_(long long x)
{
	cot_value v;
	v.type = COT_VALUE_INT;
	v.u.i = x;
	return v;
}
static inline cot_value
cot_value_uint_(unsigned long long x)
{
	cot_value v;
	v.type = x > 9223372036854775807ULL ? COT_VALUE_BAD : COT_VALUE_INT;
	v.u.i = (long long)x;
	return v;
}
static inline cot_value
cot_value_double_(double x)
{
	cot_value v;
	v.type = COT_VALUE_DOUBLE;
	v.u.d = x;
	return v;
}
static inline cot_value
cot_value_text_(const char *x)
{
	cot_value v;
	v.type = x ? COT_VALUE_TEXT : COT_VALUE_NULL;
	v.u.s = x;
	return v;
}
static inline cot_value
cot_value_same_(cot_value x)
{
	return x;
}

#define COT_V_(x)                                                                                  \
	_Generic((x),                                                \
	_Bool: cot_value_int_, short: cot_value_int_, int: cot_value_int_,     \
	long: cot_value_int_, long long: cot_value_int_,                       \
	unsigned short: cot_value_uint_, unsigned: cot_value_uint_,            \
	unsigned long: cot_value_uint_, unsigned long long: cot_value_uint_,   \
	float: cot_value_double_, double: cot_value_double_,                   \
	char *: cot_value_text_, const char *: cot_value_text_,                \
	cot_value: cot_value_same_)(x)

/* Argument plumbing: "sql, a, b" -> "sql, 2, (const cot_value[2]){...}".
 * The array has an explicit size because tcc 0.9.27 rejects unsized
 * compound literals with run-time initialisers. */
#define COT_CAT_(a, b)  COT_CAT2_(a, b)
#define COT_CAT2_(a, b) a##b
#define COT_NP_(...)                                                                               \
	COT_NP2_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, _)
#define COT_NP2_(s, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, n, ...) n
#define COT_VS1_(a)                                                                                COT_V_(a)
#define COT_VS2_(a, ...)                                                                           COT_V_(a), COT_VS1_(__VA_ARGS__)
#define COT_VS3_(a, ...)                                                                           COT_V_(a), COT_VS2_(__VA_ARGS__)
#define COT_VS4_(a, ...)                                                                           COT_V_(a), COT_VS3_(__VA_ARGS__)
#define COT_VS5_(a, ...)                                                                           COT_V_(a), COT_VS4_(__VA_ARGS__)
#define COT_VS6_(a, ...)                                                                           COT_V_(a), COT_VS5_(__VA_ARGS__)
#define COT_VS7_(a, ...)                                                                           COT_V_(a), COT_VS6_(__VA_ARGS__)
#define COT_VS8_(a, ...)                                                                           COT_V_(a), COT_VS7_(__VA_ARGS__)
#define COT_VS9_(a, ...)                                                                           COT_V_(a), COT_VS8_(__VA_ARGS__)
#define COT_VS10_(a, ...)                                                                          COT_V_(a), COT_VS9_(__VA_ARGS__)
#define COT_VS11_(a, ...)                                                                          COT_V_(a), COT_VS10_(__VA_ARGS__)
#define COT_VS12_(a, ...)                                                                          COT_V_(a), COT_VS11_(__VA_ARGS__)
#define COT_VS13_(a, ...)                                                                          COT_V_(a), COT_VS12_(__VA_ARGS__)
#define COT_VS14_(a, ...)                                                                          COT_V_(a), COT_VS13_(__VA_ARGS__)
#define COT_VS15_(a, ...)                                                                          COT_V_(a), COT_VS14_(__VA_ARGS__)
#define COT_VS16_(a, ...)                                                                          COT_V_(a), COT_VS15_(__VA_ARGS__)
#define COT_DBA0_(s)                                                                               s, 0, (const cot_value *)0
#define COT_DBAN_(n, s, ...)                                                                       \
	s, n, (const cot_value[n])                                                                 \
	{                                                                                          \
		COT_VS##n##_(__VA_ARGS__)                                                          \
	}
#define COT_DBA1_(s, ...)  COT_DBAN_(1, s, __VA_ARGS__)
#define COT_DBA2_(s, ...)  COT_DBAN_(2, s, __VA_ARGS__)
#define COT_DBA3_(s, ...)  COT_DBAN_(3, s, __VA_ARGS__)
#define COT_DBA4_(s, ...)  COT_DBAN_(4, s, __VA_ARGS__)
#define COT_DBA5_(s, ...)  COT_DBAN_(5, s, __VA_ARGS__)
#define COT_DBA6_(s, ...)  COT_DBAN_(6, s, __VA_ARGS__)
#define COT_DBA7_(s, ...)  COT_DBAN_(7, s, __VA_ARGS__)
#define COT_DBA8_(s, ...)  COT_DBAN_(8, s, __VA_ARGS__)
#define COT_DBA9_(s, ...)  COT_DBAN_(9, s, __VA_ARGS__)
#define COT_DBA10_(s, ...) COT_DBAN_(10, s, __VA_ARGS__)
#define COT_DBA11_(s, ...) COT_DBAN_(11, s, __VA_ARGS__)
#define COT_DBA12_(s, ...) COT_DBAN_(12, s, __VA_ARGS__)
#define COT_DBA13_(s, ...) COT_DBAN_(13, s, __VA_ARGS__)
#define COT_DBA14_(s, ...) COT_DBAN_(14, s, __VA_ARGS__)
#define COT_DBA15_(s, ...) COT_DBAN_(15, s, __VA_ARGS__)
#define COT_DBA16_(s, ...) COT_DBAN_(16, s, __VA_ARGS__)
#define COT_DB_ARGS_(...)  COT_CAT_(COT_DBA, COT_CAT_(COT_NP_(__VA_ARGS__), _))(__VA_ARGS__)

/* ---- typed JSON writer values (cot_jw_val, cot_jw_put) --------------- */

/* One value for the writer; made by cot_jw_val/cot_jw_put and the helpers. */
typedef struct cot_jv {
	int type; /* COT_JV_* */
	union {
		long long i;
		double d;
		const char *s;
		const cot_row *row;
		const cot_rows *rows;
	} u;
} cot_jv;

enum {
	COT_JV_NULL,
	COT_JV_INT,
	COT_JV_UINT,
	COT_JV_DOUBLE,
	COT_JV_BOOL,
	COT_JV_STR,
	COT_JV_RAW,
	COT_JV_ROW,
	COT_JV_ROWS
};

static inline cot_jv
cot_jv_int_(long long x)
{
	cot_jv v;
	v.type = COT_JV_INT;
	v.u.i = x;
	return v;
}
static inline cot_jv
cot_jv_uint_(unsigned long long x)
{
	cot_jv v;
	v.type = COT_JV_UINT;
	v.u.i = (long long)x;
	return v;
}
static inline cot_jv
cot_jv_double_(double x)
{
	cot_jv v;
	v.type = COT_JV_DOUBLE;
	v.u.d = x;
	return v;
}
static inline cot_jv
cot_jv_str_(const char *x)
{
	cot_jv v;
	v.type = x ? COT_JV_STR : COT_JV_NULL;
	v.u.s = x;
	return v;
}
static inline cot_jv
cot_jv_row_(const cot_row *x)
{
	cot_jv v;
	v.type = COT_JV_ROW;
	v.u.row = x;
	return v;
}
static inline cot_jv
cot_jv_rows_(const cot_rows *x)
{
	cot_jv v;
	v.type = COT_JV_ROWS;
	v.u.rows = x;
	return v;
}
static inline cot_jv
cot_jv_same_(cot_jv x)
{
	return x;
}

static inline cot_jv
cot_jv_bool_(_Bool x)
{
	cot_jv v;
	v.type = COT_JV_BOOL;
	v.u.i = x != 0;
	return v;
}

#define COT_JV_(x)                                                                                 \
	_Generic((x),                                               \
	_Bool: cot_jv_bool_, short: cot_jv_int_, int: cot_jv_int_,              \
	long: cot_jv_int_, long long: cot_jv_int_,                             \
	unsigned short: cot_jv_int_, unsigned: cot_jv_int_,                    \
	unsigned long: cot_jv_uint_, unsigned long long: cot_jv_uint_,         \
	float: cot_jv_double_, double: cot_jv_double_,                         \
	char *: cot_jv_str_, const char *: cot_jv_str_,                        \
	cot_row *: cot_jv_row_, const cot_row *: cot_jv_row_,                  \
	cot_rows *: cot_jv_rows_, const cot_rows *: cot_jv_rows_,              \
	cot_jv: cot_jv_same_)(x)

#endif /* COT_IMPL_H */
