/* SPDX-License-Identifier: MIT */
/* Minimal unit-test helpers: CHECK() records a failure and goes on;
 * tu_done() prints a summary and returns the exit status for main(). */
#ifndef SBS_TUTIL_H
#define SBS_TUTIL_H

#include <stddef.h>
#include <stdint.h>

extern int tu_failures, tu_checks;
void tu_fail(const char *file, int line, const char *expr);
#define CHECK(e) do { tu_checks++; if (!(e)) tu_fail(__FILE__, __LINE__, #e); } while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))
int tu_done(const char *name);
/* hex string -> bytes; returns length or -1 */
long tu_unhex(const char *hex, uint8_t *out, size_t cap);
/* path of a file under tests/vectors/, resolved from SBS_TESTS or "tests" */
const char *tu_vector(const char *name);

#endif
