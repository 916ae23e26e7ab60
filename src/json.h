/* SPDX-License-Identifier: MIT */
/*
 * json: the cJSON adapter (src/json.c is the only file that includes cJSON.h).
 *
 * Parsing: json_parse() accepts exactly one JSON value of at most len bytes
 * (no NUL needed), nested at most JSON_MAX_DEPTH deep. Depth is checked by a
 * non-recursive pre-scan before cJSON sees the bytes, so hostile nesting
 * (100,000 '[') costs O(n) time and no stack. Also refused (-EINVAL), as
 * Python's json.loads(bytes) would or because cJSON would read them otherwise:
 * invalid UTF-8, raw control characters or "\u0000" in strings, duplicate
 * object keys, numbers that overflow a double, malformed numbers ("01").
 * Errors: -EINVAL (syntax, *err set to a short static reason), -E2BIG (too
 * deep, or longer than HTTP_MAX_RESP_BODY).
 *
 * Ownership: a tree from json_parse()/json_new_*() is freed with json_free()
 * on its root. Getters return borrowed nodes. Strings returned are borrowed
 * and NUL-terminated. json_free_secret() wipes every string before freeing.
 *
 * Printing: json_print() is compact; json_print_py() reproduces Python's
 * json.dumps: separators ", " and ": " (indent 0) or indent N with ","
 * line ends, non-ASCII escaped as \uXXXX, "/" not escaped. Output is malloc'd.
 */
#ifndef SBS_JSON_H
#define SBS_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct cJSON json;

int json_parse(const char *p, size_t len, json **out, const char **err);
void json_free(json *j);
void json_free_secret(json *j);

/* type tests; NULL is none of them */
int json_is_obj(const json *j);
int json_is_arr(const json *j);
int json_is_str(const json *j);
int json_is_num(const json *j);
int json_is_bool(const json *j);
int json_is_null(const json *j);

json *json_get(const json *obj, const char *key);   /* case-sensitive member */
const char *json_str(const json *j);                /* NULL unless a string */
const char *json_get_str(const json *obj, const char *key); /* member string or NULL */
int json_bool(const json *j);                       /* 1 true, 0 false/other */
double json_num(const json *j);
/* iteration over object members / array items */
json *json_child(const json *j);
json *json_next(const json *j);
const char *json_key(const json *member);           /* name of an object member */
size_t json_count(const json *j);

/* building; every add returns 0 or -ENOMEM (-EINVAL for a non-container, a NULL
 * string, or a NUL inside json_set_strn's n bytes); adding to obj replaces an
 * existing key in place; a replaced or deleted value is wiped. */
json *json_new_obj(void);
json *json_new_arr(void);
json *json_new_str(const char *s);
int json_set_str(json *obj, const char *key, const char *val);
int json_set_strn(json *obj, const char *key, const char *val, size_t n);
int json_set_bool(json *obj, const char *key, int val);
int json_set_num(json *obj, const char *key, double val);
int json_set(json *obj, const char *key, json *val);  /* takes ownership of val */
int json_arr_add(json *arr, json *val);              /* takes ownership */
int json_arr_add_str(json *arr, const char *s);
void json_del(json *obj, const char *key);
json *json_dup(const json *j);

char *json_print(const json *j);                      /* compact, malloc'd */
char *json_print_py(const json *j, int indent);       /* Python json.dumps style */

#endif
