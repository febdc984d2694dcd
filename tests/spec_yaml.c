/*
 * spec_yaml.c -- sqldef's YAML conformance cases read with libyaml; see
 * spec_yaml.h.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_yaml.h"

yaml_node_t *
spec_yaml_value(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

const char *
spec_yaml_scalar(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_t *v = spec_yaml_value(doc, map, key);
	return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

int
spec_yaml_each(const char *path, spec_yaml_case_fn *fn, void *arg)
{
	FILE *fp = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	if (fp == NULL)
		return -1;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s: %s\n", path, parser.problem);
		yaml_parser_delete(&parser);
		fclose(fp);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *pr = root ? root->data.mapping.pairs.start : NULL;
	     root && pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
		if (v->type == YAML_MAPPING_NODE)
			fn(&doc, (const char *)k->data.scalar.value, v, arg);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(fp);
	return 0;
}

static int
spec_yaml_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spec_yaml_list(const char *dir, const char *prefix, char **files, size_t *n, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t first = *n, pl = strlen(prefix);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && *n < max) {
		size_t len = strlen(e->d_name);
		char *path = NULL;
		if (strncmp(e->d_name, prefix, pl) != 0 || len <= pl + 4 ||
		    strcmp(e->d_name + len - 4, ".yml") != 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			abort();
		files[(*n)++] = path;
	}
	closedir(d);
	qsort(files + first, *n - first, sizeof *files, spec_yaml_cmp);
	return 0;
}
