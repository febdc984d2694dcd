/*
 * spec_yaml.h -- reading sqldef's conformance cases (../shared/spec/sqldef
 * and psqldef: YAML files, each a mapping of case name to a mapping of
 * fields) for tests/test_sqldef.c and tests/test_psqldef.c, with libyaml
 * (tests/spec_yaml.c).
 */
#ifndef COT_TEST_SPEC_YAML_H
#define COT_TEST_SPEC_YAML_H

#include <stddef.h>
#include <yaml.h>

/* The node under `key` in mapping map, or NULL. */
yaml_node_t *spec_yaml_value(yaml_document_t *doc, yaml_node_t *map, const char *key);

/* The text under `key` in mapping map, or NULL if absent or not a scalar. */
const char *spec_yaml_scalar(yaml_document_t *doc, yaml_node_t *map, const char *key);

/* One case: its name and its mapping of fields, valid during the call. */
typedef void spec_yaml_case_fn(yaml_document_t *doc, const char *name, yaml_node_t *fields,
                               void *arg);

/* Calls fn for each case of the file, in order: 0, or -1 (with the parser's
 * complaint on stderr) if it cannot be read. */
int spec_yaml_each(const char *path, spec_yaml_case_fn *fn, void *arg);

/* Appends the paths (DIR/NAME, malloc'd) of dir's files named PREFIX*.yml,
 * sorted, to files[*n], at most max in all: 0, or -1 if dir cannot be read. */
int spec_yaml_list(const char *dir, const char *prefix, char **files, size_t *n, size_t max);

#endif
