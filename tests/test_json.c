/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/json.c: parsing (strictness, depth, trailing data, duplicate
 * keys), getters, building, and byte-exact Python json.dumps output. Every
 * expected string marked "python3:" was produced once by CPython 3.11's json
 * module (json.dumps(doc), json.dumps(doc, indent=N), separators=(',', ':'))
 * from the documents shown next to it, and pasted here verbatim.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "limits.h"
#include "tutil.h"

/* python3: doc = {"status": "OK", "n": 3, "neg": -42, "list": [1, 2.5, "x",
 * True, False, None, {}, []], "nested": {"a": {"b": [], "c": {}}, "d": [[1,
 * [2]], {"e": None}]}, "unicode": "\u00e9\u20ac\U0001F600", "ctl":
 * "\u0001\u001f\u007f\n\r\t\b\f\"\\/ end", "": "empty key", "big":
 * 12345678901234}; SRC = json.dumps(doc, ensure_ascii=False) */
static const char SRC[] =
	"{\"status\": \"OK\", \"n\": 3, \"neg\": -42, \"list\": [1, 2.5, \"x\", true, false, null, {}, []], "
	"\"nested\": {\"a\": {\"b\": [], \"c\": {}}, \"d\": [[1, [2]], {\"e\": null}]}, \"unicode\": "
	"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"ctl\": \"\\u0001\\u001f\x7f\\n\\r\\t\\b\\f\\\"\\\\/ end\", "
	"\"\": \"empty key\", \"big\": 12345678901234}";
/* python3: json.dumps(doc) */
static const char PY0[] =
	"{\"status\": \"OK\", \"n\": 3, \"neg\": -42, \"list\": [1, 2.5, \"x\", true, false, null, {}, []], "
	"\"nested\": {\"a\": {\"b\": [], \"c\": {}}, \"d\": [[1, [2]], {\"e\": null}]}, \"unicode\": "
	"\"\\u00e9\\u20ac\\ud83d\\ude00\", \"ctl\": \"\\u0001\\u001f\\u007f\\n\\r\\t\\b\\f\\\"\\\\/ end\", "
	"\"\": \"empty key\", \"big\": 12345678901234}";
/* python3: json.dumps(doc, indent=2) */
static const char PY2[] =
	"{\n  \"status\": \"OK\",\n  \"n\": 3,\n  \"neg\": -42,\n  \"list\": [\n    1,\n    2.5,\n"
	"    \"x\",\n    true,\n    false,\n    null,\n    {},\n    []\n  ],\n  \"nested\": {\n"
	"    \"a\": {\n      \"b\": [],\n      \"c\": {}\n    },\n    \"d\": [\n      [\n        1,\n"
	"        [\n          2\n        ]\n      ],\n      {\n        \"e\": null\n      }\n    ]\n"
	"  },\n  \"unicode\": \"\\u00e9\\u20ac\\ud83d\\ude00\",\n"
	"  \"ctl\": \"\\u0001\\u001f\\u007f\\n\\r\\t\\b\\f\\\"\\\\/ end\",\n  \"\": \"empty key\",\n"
	"  \"big\": 12345678901234\n}";
/* python3: json.dumps(doc, indent=4) */
static const char PY4[] =
	"{\n    \"status\": \"OK\",\n    \"n\": 3,\n    \"neg\": -42,\n    \"list\": [\n        1,\n"
	"        2.5,\n        \"x\",\n        true,\n        false,\n        null,\n        {},\n"
	"        []\n    ],\n    \"nested\": {\n        \"a\": {\n            \"b\": [],\n"
	"            \"c\": {}\n        },\n        \"d\": [\n            [\n                1,\n"
	"                [\n                    2\n                ]\n            ],\n            {\n"
	"                \"e\": null\n            }\n        ]\n    },\n"
	"    \"unicode\": \"\\u00e9\\u20ac\\ud83d\\ude00\",\n"
	"    \"ctl\": \"\\u0001\\u001f\\u007f\\n\\r\\t\\b\\f\\\"\\\\/ end\",\n    \"\": \"empty key\",\n"
	"    \"big\": 12345678901234\n}";
/* python3: json.dumps(doc, separators=(',', ':')) */
static const char COMPACT[] =
	"{\"status\":\"OK\",\"n\":3,\"neg\":-42,\"list\":[1,2.5,\"x\",true,false,null,{},[]],"
	"\"nested\":{\"a\":{\"b\":[],\"c\":{}},\"d\":[[1,[2]],{\"e\":null}]},"
	"\"unicode\":\"\\u00e9\\u20ac\\ud83d\\ude00\",\"ctl\":\"\\u0001\\u001f\\u007f\\n\\r\\t\\b\\f\\\"\\\\/ end\","
	"\"\":\"empty key\",\"big\":12345678901234}";
/* python3: json.dumps([0.1, 1e-05, 0.0001, 0.00012345, 1e16, 1.5e300, -2.5e-7,
 * 123456789012345.67, 1234567890123456.7, 9007199254740992.0, 1e22, 5e-324,
 * 1.7976931348623157e308, 0.5, 100.25, -12345678.9, 2.0**60, 1/3, 2/3, 1e-300,
 * 123e-20]); the output parses back to the same floats, so it is its own input. */
static const char FLOATS[] =
	"[0.1, 1e-05, 0.0001, 0.00012345, 1e+16, 1.5e+300, -2.5e-07, 123456789012345.67, "
	"1234567890123456.8, 9007199254740992.0, 1e+22, 5e-324, 1.7976931348623157e+308, 0.5, "
	"100.25, -12345678.9, 1.152921504606847e+18, 0.3333333333333333, 0.6666666666666666, "
	"1e-300, 1.23e-18]";
/* python3: json.dumps(b'a\xff\xe2\x82b\xed\xa0\x80c\xf0\x9f\x98\x80d\xc0\xafe'
 * b'\xf4\x90\x80\x80f\xe0\x80\x80g\x80'.decode('utf-8', 'replace')). Such bytes can
 * only come from a built tree (a log file): json_parse refuses them, as
 * Python's json.loads(bytes) does. */
static const char BAD_UTF8[] =
	"a\xff\xe2\x82" "b\xed\xa0\x80" "c\xf0\x9f\x98\x80" "d\xc0\xaf" "e\xf4\x90\x80\x80"
	"f\xe0\x80\x80" "g\x80";
static const char BAD_UTF8_PY[] =
	"\"a\\ufffd\\ufffdb\\ufffd\\ufffd\\ufffdc\\ud83d\\ude00d\\ufffd\\ufffde\\ufffd\\ufffd\\ufffd"
	"\\ufffdf\\ufffd\\ufffd\\ufffdg\\ufffd\"";

static json *parse(const char *s)
{
	json *j = NULL;
	const char *err = NULL;
	int rc = json_parse(s, strlen(s), &j, &err);

	CHECK(rc == 0 ? j != NULL && err == NULL : j == NULL && err != NULL);
	return j;
}

static int rc_of(const char *s, size_t n, const char **err)
{
	json *j = (json *)1;
	int rc = json_parse(s, n, &j, err);

	if (rc < 0)
		CHECK(j == NULL);
	json_free(j);
	return rc;
}

static int same(char *got, const char *want)
{
	int ok = got && strcmp(got, want) == 0;

	if (!ok)
		fprintf(stderr, "got:  %s\nwant: %s\n", got ? got : "(null)", want);
	free(got);
	return ok;
}

static void test_python_output(void)
{
	json *j = parse(SRC), *k;

	CHECK(same(json_print_py(j, 0), PY0));
	CHECK(same(json_print_py(j, -1), PY0));
	CHECK(same(json_print_py(j, 2), PY2));
	CHECK(same(json_print_py(j, 4), PY4));
	CHECK(same(json_print(j), COMPACT));
	/* every printed form reads back to the same document */
	k = parse(PY4);
	CHECK(same(json_print(k), COMPACT));
	json_free(k);
	k = parse(COMPACT);
	CHECK(same(json_print_py(k, 0), PY0));
	json_free(k);
	json_free(j);

	j = parse(FLOATS);
	CHECK(same(json_print_py(j, 0), FLOATS));
	json_free(j);
	j = json_new_str(BAD_UTF8);
	CHECK(same(json_print_py(j, 0), BAD_UTF8_PY));
	json_free(j);
	/* integral doubles below 2^53 print as integers; -0 as 0 */
	j = parse("[-0, 1e15, 1E2, -3.0, 2.5e1, 1e300]");
	CHECK(same(json_print(j), "[0,1000000000000000,100,-3,25,1e+300]"));
	json_free(j);
	/* what build.py sends for an empty body, and what it parses */
	j = parse("\"\"");
	CHECK(json_is_str(j) && strcmp(json_str(j), "") == 0);
	CHECK(same(json_print_py(j, 0), "\"\""));
	json_free(j);
}

static void test_strictness(void)
{
	static const char *bad[] = {
		"", " ", "01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "[1,]", "[,1]",
		"{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{1:2}", "[1 2]", "nul", "tru", "True", "NaN",
		"Infinity", "\xef\xbb\xbf{}", "\"abc", "\"a\x01\"", "\"a\nb\"", "\"\\u0000\"",
		"\"\\x41\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "[}", "{]", "]", "}", "[[]",
		"\x0b 1", "1 \x0c", "'a'", "[1]x", "\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"", "1e400", "[-1e400]", "{\"a\":[1E+999]}",
	};
	static const char *good[] = {
		"0", "-0", "1.5e-3", "1E+2", "true", "false", "null", "\"\"", "[]", "{}",
		" \t\r\n[ 1 , 2 ] \t\r\n", "\"\\ud83d\\ude00\"", "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
		"{\"a\":{\"a\":1}}", "{\"A\":1,\"a\":2}", "\"\xef\xbf\xbd\xf4\x8f\xbf\xbf\"", "1e-400",
	};
	const char *err;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err = NULL;
		int rc = rc_of(bad[i], strlen(bad[i]), &err);
		CHECK(rc == -EINVAL && err != NULL);
		if (rc != -EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
	}
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		int rc = rc_of(good[i], strlen(good[i]), &err);
		CHECK(rc == 0);
		if (rc != 0)
			fprintf(stderr, "refused: %s (%s)\n", good[i], err);
	}
	/* a NUL in the input, and input without a terminating NUL */
	CHECK(rc_of("[1,\0 2]", 7, &err) == -EINVAL);
	CHECK(rc_of("[1]]]]", 3, &err) == 0);
	CHECK(rc_of("{}", 2, NULL) == 0);
	CHECK(rc_of(NULL, 0, &err) == -EINVAL);

	CHECK(rc_of("{} {}", 5, &err) == -EINVAL && strcmp(err, "trailing data after JSON") == 0);
	CHECK(rc_of("1 2", 3, &err) == -EINVAL && strcmp(err, "trailing data after JSON") == 0);
	CHECK(rc_of("\"a\"\"b\"", 6, &err) == -EINVAL && strcmp(err, "trailing data after JSON") == 0);
	CHECK(rc_of("{\"a\":1,\"a\":2}", 13, &err) == -EINVAL &&
	      strcmp(err, "duplicate key in JSON") == 0);
	CHECK(rc_of("[{\"x\":[{\"b\":1,\"b\":1}]}]", 23, &err) == -EINVAL);
	/* the sorted path (more than 8 members) */
	CHECK(rc_of("{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"a\":1}", 61,
		    &err) == -EINVAL);
	CHECK(rc_of("{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1}", 61,
		    &err) == 0);
}

static char *nest(size_t depth, const char *open, const char *mid, const char *close)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	char *s = malloc(depth * (lo + lc) + lm + 1), *p = s;

	for (size_t i = 0; i < depth; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm), p += lm;
	for (size_t i = 0; i < depth; i++, p += lc)
		memcpy(p, close, lc);
	*p = 0;
	return s;
}

static void test_depth(void)
{
	const char *err;
	char *s;
	json *j;
	clock_t t0;

	s = nest(JSON_MAX_DEPTH, "[", "1", "]");
	j = parse(s);
	CHECK(j != NULL);
	CHECK(same(json_print(j), s));
	json_free(j);
	free(s);
	s = nest(JSON_MAX_DEPTH, "{\"k\":", "\"v\"", "}");
	CHECK(rc_of(s, strlen(s), &err) == 0);
	free(s);
	s = nest(JSON_MAX_DEPTH + 1, "[", "", "]");
	CHECK(rc_of(s, strlen(s), &err) == -E2BIG && strcmp(err, "JSON nested too deep") == 0);
	free(s);
	s = nest(JSON_MAX_DEPTH + 1, "{\"k\":", "1", "}");
	CHECK(rc_of(s, strlen(s), &err) == -E2BIG);
	free(s);
	/* brackets inside strings do not count, escaped quotes do not end them */
	s = nest(JSON_MAX_DEPTH, "[", "\"[[[[\\\"{{{{\"", "]");
	CHECK(rc_of(s, strlen(s), &err) == 0);
	free(s);

	s = malloc(100000);
	memset(s, '[', 100000);
	t0 = clock();
	CHECK(rc_of(s, 100000, &err) == -E2BIG);
	CHECK(clock() - t0 < CLOCKS_PER_SEC / 10);
	free(s);
	CHECK(rc_of("[", (size_t)HTTP_MAX_RESP_BODY + 1, &err) == -E2BIG);

	/* a built tree deeper than the limit: not printable, freed without recursion */
	int fails = 0;
	j = json_new_arr();
	for (int i = 0; i < 100000; i++) {
		json *a = json_new_arr();
		fails += json_arr_add(a, j) != 0;
		j = a;
	}
	CHECK(fails == 0);
	CHECK(json_print(j) == NULL);
	json_free_secret(j);
}

static void test_getters(void)
{
	json *j = parse("{\"s\":\"str\",\"n\":42.5,\"t\":true,\"f\":false,\"z\":null,\"a\":[1,\"x\"],\"o\":{}}");
	json *a = json_get(j, "a"), *c;

	CHECK(json_is_obj(j) && !json_is_arr(j) && json_count(j) == 7);
	CHECK(strcmp(json_get_str(j, "s"), "str") == 0);
	CHECK(json_get_str(j, "n") == NULL && json_get_str(j, "missing") == NULL);
	CHECK(json_get_str(j, "S") == NULL);
	CHECK(json_num(json_get(j, "n")) == 42.5 && json_num(json_get(j, "s")) == 0);
	CHECK(json_bool(json_get(j, "t")) == 1 && json_bool(json_get(j, "f")) == 0);
	CHECK(json_bool(json_get(j, "s")) == 0 && json_is_bool(json_get(j, "f")));
	CHECK(json_is_null(json_get(j, "z")) && !json_is_null(json_get(j, "f")));
	CHECK(json_is_arr(a) && json_count(a) == 2 && json_get(a, "0") == NULL);
	CHECK(json_str(a) == NULL && json_str(json_get(j, "n")) == NULL);
	c = json_child(a);
	CHECK(json_is_num(c) && json_key(c) == NULL);
	CHECK(strcmp(json_str(json_next(c)), "x") == 0 && json_next(json_next(c)) == NULL);
	CHECK(json_child(json_get(j, "s")) == NULL && json_count(json_get(j, "s")) == 0);
	CHECK(json_child(json_get(j, "o")) == NULL && json_count(json_get(j, "o")) == 0);
	CHECK(strcmp(json_key(json_child(j)), "s") == 0);
	CHECK(json_get(NULL, "s") == NULL && json_get(j, NULL) == NULL && json_str(NULL) == NULL);
	CHECK(!json_is_obj(NULL) && !json_is_arr(NULL) && !json_is_str(NULL) && !json_is_num(NULL));
	CHECK(!json_is_bool(NULL) && !json_is_null(NULL) && json_num(NULL) == 0 && !json_bool(NULL));
	CHECK(json_child(NULL) == NULL && json_next(NULL) == NULL && json_key(NULL) == NULL);
	CHECK(json_count(NULL) == 0 && json_dup(NULL) == NULL && json_print(NULL) == NULL);
	json_free(j);
}

static void test_building(void)
{
	json *o = json_new_obj(), *a = json_new_arr(), *d;

	CHECK(json_set_str(o, "a", "x") == 0);
	CHECK(json_set_num(o, "b", 2) == 0);
	CHECK(json_set_bool(o, "c", 1) == 0);
	CHECK(json_arr_add_str(a, "p") == 0 && json_arr_add(a, json_new_obj()) == 0);
	CHECK(json_set(o, "d", a) == 0);
	/* python3: json.dumps({"a": "x", "b": 2, "c": True, "d": ["p", {}]}) */
	CHECK(same(json_print_py(o, 0), "{\"a\": \"x\", \"b\": 2, \"c\": true, \"d\": [\"p\", {}]}"));
	/* replacing keeps the position, like assigning to a Python dict key */
	CHECK(json_set_str(o, "b", "y") == 0);
	CHECK(json_set_strn(o, "a", "secretXXX", 6) == 0);
	CHECK(json_set(o, "d", json_new_str("\xc3\xa9")) == 0);
	CHECK(json_set_num(o, "e", 0.1) == 0);
	CHECK(json_set_num(o, "f", NAN) == 0);
	/* python3: json.dumps({"a": "secret", "b": "y", "c": True, "d": "\u00e9", "e": 0.1}) + "f": null */
	CHECK(same(json_print_py(o, 0),
		   "{\"a\": \"secret\", \"b\": \"y\", \"c\": true, \"d\": \"\\u00e9\", \"e\": 0.1, \"f\": null}"));
	CHECK(json_count(o) == 6);
	d = json_dup(o);
	json_del(o, "c");
	json_del(o, "nope");
	CHECK(same(json_print(o), "{\"a\":\"secret\",\"b\":\"y\",\"d\":\"\\u00e9\",\"e\":0.1,\"f\":null}"));
	CHECK(same(json_print(d), "{\"a\":\"secret\",\"b\":\"y\",\"c\":true,\"d\":\"\\u00e9\",\"e\":0.1,\"f\":null}"));
	/* misuse: embedded NUL, wrong container types, NULL values */
	CHECK(json_set_strn(o, "k", "a\0b", 3) == -EINVAL);
	CHECK(json_set_str(o, "k", NULL) == -EINVAL);
	CHECK(json_set(o, "k", NULL) == -ENOMEM);
	CHECK(json_set(a = json_new_arr(), "k", json_new_str("v")) == -EINVAL);
	CHECK(json_arr_add(o, json_new_str("v")) == -EINVAL);
	CHECK(json_arr_add(a, NULL) == -ENOMEM && json_count(a) == 0);
	CHECK(json_new_str(NULL) == NULL);
	json_free(a);
	json_free(d);
	json_free_secret(o);
	json_free_secret(NULL);
	json_free(NULL);
}

int main(void)
{
	test_python_output();
	test_strictness();
	test_depth();
	test_getters();
	test_building();
	return tu_done("test_json");
}
