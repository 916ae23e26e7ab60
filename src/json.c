/* SPDX-License-Identifier: MIT */
/*
 * json: the cJSON adapter, the only file that includes cJSON.h (see json.h for
 * the contract). Untrusted text first goes through scan(), a single
 * non-recursive pass that bounds nesting (JSON_MAX_DEPTH) and rejects what
 * cJSON would otherwise tolerate: bytes outside the JSON grammar (a BOM, NUL,
 * control characters), raw control characters, invalid UTF-8 and "\u0000"
 * inside strings (cJSON would silently truncate at the NUL) and malformed
 * numbers ("01", "1.", "+1"). cJSON then builds the tree; we refuse trailing
 * data, numbers that overflow a double, and duplicate object keys (cJSON's
 * lookup finds the first, Python's dict keeps the last: accepting both would
 * let two readers see two different documents). The
 * printer is ours, not cJSON's, so that compact and Python-style output share
 * one escaping and one number format (Python's float repr).
 */
#include "json.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "util.h"

/* The largest document anyone hands us is a response body or a stored file
 * (both 64 MiB, src/limits.h); beyond that the input is refused, not parsed. */
#define JSON_MAX_LEN HTTP_MAX_RESP_BODY

/* ---- pre-scan -------------------------------------------------------- */

/* Classes of the bytes allowed outside strings. */
enum { X_BAD = 0, X_WS, X_OPEN, X_CLOSE, X_QUOTE, X_NUM, X_OK };
static const unsigned char xclass[256] = {
	[' '] = X_WS, ['\t'] = X_WS, ['\n'] = X_WS, ['\r'] = X_WS,
	['['] = X_OPEN, ['{'] = X_OPEN, [']'] = X_CLOSE, ['}'] = X_CLOSE,
	['"'] = X_QUOTE, [','] = X_OK, [':'] = X_OK,
	['-'] = X_NUM, ['0'] = X_NUM, ['1'] = X_NUM, ['2'] = X_NUM, ['3'] = X_NUM,
	['4'] = X_NUM, ['5'] = X_NUM, ['6'] = X_NUM, ['7'] = X_NUM, ['8'] = X_NUM,
	['9'] = X_NUM,
	/* the letters of true, false and null */
	['a'] = X_OK, ['e'] = X_OK, ['f'] = X_OK, ['l'] = X_OK, ['n'] = X_OK,
	['r'] = X_OK, ['s'] = X_OK, ['t'] = X_OK, ['u'] = X_OK,
};

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * One UTF-8 sequence at p[0..n), n >= 1. Returns the bytes consumed (>= 1)
 * and the code point, or UTF8_BAD for an ill-formed sequence, whose maximal
 * valid prefix is consumed as one unit (the unit Python's errors="replace"
 * turns into one U+FFFD). Overlongs, surrogates and values over U+10FFFF are
 * ill-formed. A NUL is never a continuation byte, so a NUL-terminated string
 * may pass n = SIZE_MAX.
 */
#define UTF8_BAD 0x110000u
static size_t utf8_decode(const unsigned char *p, size_t n, unsigned *cp)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;
	unsigned v;

	*cp = UTF8_BAD;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		need = 2, v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3, v = c & 0x0Fu;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4, v = c & 0x07u;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 1;
	}
	for (size_t k = 1; k < need; k++) {
		if (k >= n || p[k] < lo || p[k] > hi)
			return k;
		v = (v << 6) | (p[k] & 0x3Fu);
		lo = 0x80, hi = 0xBF;
	}
	*cp = v;
	return need;
}

/* s[*pos] is just after the opening quote; on success *pos is just after the
 * closing one. */
static int scan_string(const unsigned char *s, size_t len, size_t *pos, const char **err)
{
	size_t i = *pos;

	while (i < len) {
		unsigned char c = s[i++];
		if (c == '"') {
			*pos = i;
			return 0;
		}
		if (c < 0x20) {
			*err = "control character in JSON string";
			return -EINVAL;
		}
		if (c >= 0x80) {
			unsigned cp;
			i += utf8_decode(s + i - 1, len - i + 1, &cp) - 1;
			if (cp == UTF8_BAD) {
				*err = "invalid UTF-8 in JSON string";
				return -EINVAL;
			}
			continue;
		}
		if (c != '\\')
			continue;
		if (i >= len)
			break;
		c = s[i++];
		if (c == 'u') {
			if (len - i < 4 || !is_hex(s[i]) || !is_hex(s[i + 1]) ||
			    !is_hex(s[i + 2]) || !is_hex(s[i + 3]))
				break;
			if (memcmp(s + i, "0000", 4) == 0) {
				*err = "NUL in JSON string";
				return -EINVAL;
			}
			i += 4;
		} else if (!memchr("\"\\/bfnrt", c, 8)) {
			break;
		}
	}
	*err = "invalid JSON";
	return -EINVAL;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and
 * the next byte may not continue it (so "01" and "1.2.3" are refused). */
static int scan_number(const unsigned char *s, size_t len, size_t *pos)
{
	size_t i = *pos;

	if (s[i] == '-')
		i++;
	if (i >= len || !is_digit(s[i]))
		return -EINVAL;
	if (s[i] == '0')
		i++;
	else
		while (i < len && is_digit(s[i]))
			i++;
	if (i < len && s[i] == '.') {
		if (++i >= len || !is_digit(s[i]))
			return -EINVAL;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return -EINVAL;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (is_digit(s[i]) || memchr(".eE+-", s[i], 5)))
		return -EINVAL;
	*pos = i;
	return 0;
}

/* One O(n) pass, no recursion: depth, strings and numbers (see top). */
static int scan(const unsigned char *s, size_t len, const char **err)
{
	size_t i = 0, depth = 0;

	*err = "invalid JSON";
	while (i < len) {
		switch (xclass[s[i]]) {
		case X_BAD:
			return -EINVAL;
		case X_OPEN:
			if (++depth > JSON_MAX_DEPTH) {
				*err = "JSON nested too deep";
				return -E2BIG;
			}
			i++;
			break;
		case X_CLOSE:
			if (depth-- == 0)
				return -EINVAL;
			i++;
			break;
		case X_QUOTE:
			i++;
			if (scan_string(s, len, &i, err) < 0)
				return -EINVAL;
			break;
		case X_NUM:
			if (scan_number(s, len, &i) < 0)
				return -EINVAL;
			break;
		default:
			i++;
			break;
		}
	}
	return depth == 0 ? 0 : -EINVAL;
}

/* ---- duplicate keys -------------------------------------------------- */

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 if two members of obj share a name, 0 if not, -ENOMEM. O(n log n). */
static int dup_keys(const json *obj)
{
	const char **v;
	const json *c;
	size_t n = json_count(obj), i = 0;
	int rc = 0;

	if (n < 2)
		return 0;
	if (n <= 8) {
		for (c = obj->child; c; c = c->next)
			for (const json *d = c->next; d; d = d->next)
				if (strcmp(c->string, d->string) == 0)
					return 1;
		return 0;
	}
	v = malloc(n * sizeof *v);
	if (!v)
		return -ENOMEM;
	for (c = obj->child; c; c = c->next)
		v[i++] = c->string;
	qsort(v, n, sizeof *v, cmp_keys);
	for (i = 1; i < n && !rc; i++)
		rc = strcmp(v[i - 1], v[i]) == 0;
	free(v);
	return rc;
}

/* 0 if the tree is acceptable; 1 for a duplicate key; 2 for a number out of
 * range (cJSON reads 1e400 as infinity, which JSON cannot carry back); or
 * -ENOMEM. Recursion is bounded by scan(): at most JSON_MAX_DEPTH frames. */
static int check_tree(const json *j)
{
	int rc;

	if (cJSON_IsNumber(j) && !isfinite(j->valuedouble))
		return 2;
	if (cJSON_IsObject(j) && (rc = dup_keys(j)) != 0)
		return rc;
	for (const json *c = j->child; c; c = c->next)
		if ((rc = check_tree(c)) != 0)
			return rc;
	return 0;
}

int json_parse(const char *p, size_t len, json **out, const char **err)
{
	const char *dummy, *end = NULL;
	json *j = NULL;
	int rc;

	if (!err)
		err = &dummy;
	*out = NULL;
	if (len > JSON_MAX_LEN) {
		*err = "JSON too long";
		return -E2BIG;
	}
	if (!p || len == 0) {
		*err = "invalid JSON";
		return -EINVAL;
	}
	rc = scan((const unsigned char *)p, len, err);
	if (rc < 0)
		return rc;
	*err = "invalid JSON";
	j = cJSON_ParseWithLengthOpts(p, len, &end, 0);
	if (!j)
		return -EINVAL;
	while (end < p + len && xclass[(unsigned char)*end] == X_WS)
		end++;
	rc = -EINVAL;
	if (end != p + len) {
		*err = "trailing data after JSON";
		goto out;
	}
	rc = check_tree(j);
	if (rc > 0) {
		*err = rc == 1 ? "duplicate key in JSON" : "JSON number out of range";
		rc = -EINVAL;
	} else if (rc < 0) {
		*err = "out of memory";
	}
out:
	if (rc < 0) {
		json_free(j);
		return rc;
	}
	*err = NULL;
	*out = j;
	return 0;
}

void json_free(json *j)
{
	cJSON_Delete(j);
}

/*
 * Wipes every string, key and number, then frees. The tree is flattened into
 * one sibling chain as it is walked (each child list is spliced in once, so
 * this is O(n) and needs no recursion however deep a built tree is), and
 * cJSON_Delete frees a sibling chain iteratively.
 */
void json_free_secret(json *j)
{
	for (json *c = j; c; c = c->next) {
		if (c->child && !(c->type & cJSON_IsReference)) {
			json *last = c->child;
			while (last->next)
				last = last->next;
			last->next = c->next;
			c->next = c->child;
			c->child = NULL;
		}
		if (c->valuestring && !(c->type & cJSON_IsReference))
			wipe(c->valuestring, strlen(c->valuestring));
		if (c->string && !(c->type & cJSON_StringIsConst))
			wipe(c->string, strlen(c->string));
		c->valuedouble = 0;
		c->valueint = 0;
	}
	cJSON_Delete(j);
}

/* ---- access ------------------------------------------------------------ */

int json_is_obj(const json *j) { return j && cJSON_IsObject(j); }
int json_is_arr(const json *j) { return j && cJSON_IsArray(j); }
int json_is_str(const json *j) { return j && cJSON_IsString(j); }
int json_is_num(const json *j) { return j && cJSON_IsNumber(j); }
int json_is_bool(const json *j) { return j && cJSON_IsBool(j); }
int json_is_null(const json *j) { return j && cJSON_IsNull(j); }

json *json_get(const json *obj, const char *key)
{
	if (!json_is_obj(obj) || !key)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const char *json_str(const json *j)
{
	return json_is_str(j) ? j->valuestring : NULL;
}

const char *json_get_str(const json *obj, const char *key)
{
	return json_str(json_get(obj, key));
}

int json_bool(const json *j)
{
	return j && cJSON_IsTrue(j);
}

/* 0 for anything that is not a number: never NaN, which would make a later
 * conversion to an integer type undefined. */
double json_num(const json *j)
{
	return json_is_num(j) ? j->valuedouble : 0.0;
}

json *json_child(const json *j)
{
	return (json_is_obj(j) || json_is_arr(j)) ? j->child : NULL;
}

json *json_next(const json *j)
{
	return j ? j->next : NULL;
}

const char *json_key(const json *member)
{
	return member ? member->string : NULL;
}

size_t json_count(const json *j)
{
	size_t n = 0;

	for (const json *c = json_child(j); c; c = c->next)
		n++;
	return n;
}

/* ---- building ---------------------------------------------------------- */

json *json_new_obj(void) { return cJSON_CreateObject(); }
json *json_new_arr(void) { return cJSON_CreateArray(); }

json *json_new_str(const char *s)
{
	return s ? cJSON_CreateString(s) : NULL;
}

/* Moves b's value into node a (which keeps its key and its place in the
 * parent's list) and a's old value into b. */
static void swap_value(json *a, json *b)
{
	const int keep = cJSON_StringIsConst;
	int ta = a->type, tb = b->type;
	json *child = a->child;
	char *vs = a->valuestring;
	double vd = a->valuedouble;
	int vi = a->valueint;

	a->type = (tb & ~keep) | (ta & keep);
	b->type = (ta & ~keep) | (tb & keep);
	a->child = b->child;
	a->valuestring = b->valuestring;
	a->valuedouble = b->valuedouble;
	a->valueint = b->valueint;
	b->child = child;
	b->valuestring = vs;
	b->valuedouble = vd;
	b->valueint = vi;
}

int json_set(json *obj, const char *key, json *val)
{
	json *old;

	if (!val)
		return -ENOMEM;
	if (!json_is_obj(obj) || !key || val == obj || val->next || val->prev) {
		json_free(val);
		return -EINVAL;
	}
	old = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (old) {
		/* Replace in place; the old value may have been a secret. */
		swap_value(old, val);
		json_free_secret(val);
		return 0;
	}
	if (!cJSON_AddItemToObject(obj, key, val)) {
		json_free(val);
		return -ENOMEM;
	}
	return 0;
}

int json_set_str(json *obj, const char *key, const char *val)
{
	if (!val)
		return -EINVAL;
	return json_set(obj, key, cJSON_CreateString(val));
}

/* val[0..n) may not contain NUL: a C string would silently truncate it. */
int json_set_strn(json *obj, const char *key, const char *val, size_t n)
{
	char *tmp;
	int rc;

	if (!val || memchr(val, 0, n) || n == SIZE_MAX)
		return -EINVAL;
	tmp = malloc(n + 1);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, val, n);
	tmp[n] = 0;
	rc = json_set(obj, key, cJSON_CreateString(tmp));
	wipe_free(tmp, n + 1);
	return rc;
}

int json_set_bool(json *obj, const char *key, int val)
{
	return json_set(obj, key, cJSON_CreateBool(val ? 1 : 0));
}

int json_set_num(json *obj, const char *key, double val)
{
	return json_set(obj, key, cJSON_CreateNumber(val));
}

int json_arr_add(json *arr, json *val)
{
	if (!val)
		return -ENOMEM;
	if (!json_is_arr(arr) || val == arr || val->next || val->prev) {
		json_free(val);
		return -EINVAL;
	}
	if (!cJSON_AddItemToArray(arr, val)) {
		json_free(val);
		return -ENOMEM;
	}
	return 0;
}

int json_arr_add_str(json *arr, const char *s)
{
	if (!s)
		return -EINVAL;
	return json_arr_add(arr, cJSON_CreateString(s));
}

/* The removed value is wiped: it may have been a secret. */
void json_del(json *obj, const char *key)
{
	if (json_is_obj(obj) && key)
		json_free_secret(cJSON_DetachItemFromObjectCaseSensitive(obj, key));
}

json *json_dup(const json *j)
{
	return j ? cJSON_Duplicate(j, 1) : NULL;
}

/* ---- printing ---------------------------------------------------------- */

struct pr {
	struct buf b;
	int indent;                 /* > 0: Python's indent=N layout */
	const char *isep, *ksep;    /* item and key separators */
	int err;
};

static void put(struct pr *o, const char *s, size_t n)
{
	if (!o->err && buf_append(&o->b, s, n) < 0)
		o->err = 1;
}

static void puts_(struct pr *o, const char *s)
{
	put(o, s, strlen(s));
}

static void newline(struct pr *o, int level)
{
	static const char sp[] = "                                ";

	if (o->indent <= 0)
		return;
	put(o, "\n", 1);
	for (size_t n = (size_t)o->indent * (size_t)level; n > 0;) {
		size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
		put(o, sp, k);
		n -= k;
	}
}

static void put_u16(struct pr *o, unsigned u)
{
	static const char hx[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', hx[(u >> 12) & 15], hx[(u >> 8) & 15], hx[(u >> 4) & 15], hx[u & 15] };

	put(o, e, sizeof e);
}

/* ensure_ascii=True: printable ASCII as is, the short escapes, everything
 * else (controls, DEL, non-ASCII) as \uXXXX with surrogate pairs. */
static void put_str(struct pr *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;
	unsigned cp;

	put(o, "\"", 1);
	for (;;) {
		for (run = i; s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\'; run++)
			;
		put(o, str + i, run - i);
		i = run;
		if (!s[i])
			break;
		switch (s[i]) {
		case '"': put(o, "\\\"", 2); break;
		case '\\': put(o, "\\\\", 2); break;
		case '\n': put(o, "\\n", 2); break;
		case '\r': put(o, "\\r", 2); break;
		case '\t': put(o, "\\t", 2); break;
		case '\b': put(o, "\\b", 2); break;
		case '\f': put(o, "\\f", 2); break;
		default:
			if (s[i] < 0x80) {
				put_u16(o, s[i]);
				break;
			}
			i += utf8_decode(s + i, SIZE_MAX, &cp) - 1;
			if (cp == UTF8_BAD)
				cp = 0xFFFD;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				put_u16(o, 0xD800 | (cp >> 10));
				put_u16(o, 0xDC00 | (cp & 0x3FF));
			} else {
				put_u16(o, cp);
			}
		}
		i++;
	}
	put(o, "\"", 1);
}

/*
 * Python's float repr: the shortest digits that read back as x (found by
 * trying %.{1..17}e), written as fixed notation when the decimal exponent is
 * in [-4, 16) and as d.ddde+XX otherwise. Integral values below 2^53 print as
 * integers (Python would print a float 1.0 as "1.0"; our numbers come from
 * JSON integers). NaN and infinities, which JSON cannot carry, print as null.
 */
static void put_num(struct pr *o, double x)
{
	char t[40], out[64], dig[20];
	const char *q;
	size_t nd = 0, k = 0;
	int e = 0, eneg, dp;

	if (!isfinite(x)) {
		put(o, "null", 4);
		return;
	}
	if (x > -9007199254740992.0 && x < 9007199254740992.0 && (double)(long long)x == x) {
		put(o, out, (size_t)snprintf(out, sizeof out, "%lld", (long long)x));
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(t, sizeof t, "%.*e", prec - 1, x);
		if (strtod(t, NULL) == x)
			break;
	}
	q = t;
	if (*q == '-')
		out[k++] = *q++;
	for (; *q && *q != 'e'; q++)
		if (*q != '.')
			dig[nd++] = *q;
	eneg = q[1] == '-';
	for (q += 2; *q; q++)
		e = e * 10 + (*q - '0');
	e = eneg ? -e : e;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	dp = e + 1;                     /* digits before the decimal point */
	if (dp > -4 && dp <= 16) {
		if (dp <= 0) {
			out[k++] = '0', out[k++] = '.';
			for (int z = dp; z < 0; z++)
				out[k++] = '0';
			memcpy(out + k, dig, nd), k += nd;
		} else if ((size_t)dp >= nd) {
			memcpy(out + k, dig, nd), k += nd;
			for (size_t z = nd; z < (size_t)dp; z++)
				out[k++] = '0';
			out[k++] = '.', out[k++] = '0';
		} else {
			memcpy(out + k, dig, (size_t)dp), k += (size_t)dp;
			out[k++] = '.';
			memcpy(out + k, dig + dp, nd - (size_t)dp), k += nd - (size_t)dp;
		}
	} else {
		out[k++] = dig[0];
		if (nd > 1) {
			out[k++] = '.';
			memcpy(out + k, dig + 1, nd - 1), k += nd - 1;
		}
		k += (size_t)snprintf(out + k, sizeof out - k, "e%+03d", e);
	}
	put(o, out, k);
}

static void put_value(struct pr *o, const json *j, int level);

static void put_container(struct pr *o, const json *j, int level)
{
	int obj = cJSON_IsObject(j);

	if (level >= JSON_MAX_DEPTH) {
		o->err = 1;
		return;
	}
	if (!j->child) {
		puts_(o, obj ? "{}" : "[]");
		return;
	}
	put(o, obj ? "{" : "[", 1);
	for (const json *c = j->child; c && !o->err; c = c->next) {
		if (c != j->child)
			puts_(o, o->isep);
		newline(o, level + 1);
		if (obj) {
			if (!c->string) {
				o->err = 1;
				return;
			}
			put_str(o, c->string);
			puts_(o, o->ksep);
		}
		put_value(o, c, level + 1);
	}
	newline(o, level);
	put(o, obj ? "}" : "]", 1);
}

/* Recursion is bounded: put_container refuses more than JSON_MAX_DEPTH. */
static void put_value(struct pr *o, const json *j, int level)
{
	switch (j->type & 0xFF) {
	case cJSON_False: put(o, "false", 5); break;
	case cJSON_True: put(o, "true", 4); break;
	case cJSON_NULL: put(o, "null", 4); break;
	case cJSON_Number: put_num(o, j->valuedouble); break;
	case cJSON_String:
		if (!j->valuestring)
			o->err = 1;
		else
			put_str(o, j->valuestring);
		break;
	case cJSON_Array:
	case cJSON_Object: put_container(o, j, level); break;
	default: o->err = 1; break;     /* cJSON_Raw and invalid nodes: never ours */
	}
}

static char *print(const json *j, int indent, const char *isep, const char *ksep)
{
	/* Output may carry secrets (an init body): wipe on every growth. */
	struct pr o = { .b = { .secret = 1 }, .indent = indent, .isep = isep, .ksep = ksep };

	if (!j)
		return NULL;
	put_value(&o, j, 0);
	if (o.err) {
		buf_free(&o.b);
		return NULL;
	}
	return (char *)o.b.data;
}

char *json_print(const json *j)
{
	return print(j, 0, ",", ":");
}

char *json_print_py(const json *j, int indent)
{
	return print(j, indent, indent > 0 ? "," : ", ", ": ");
}
