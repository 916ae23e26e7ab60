/* SPDX-License-Identifier: MIT */
/*
 * params: the build parameters set by init (POST /image) and update
 * (PATCH /image), validated and persisted atomically in <data>/params.json.
 *
 * Validation (params_check): an object; at most PARAM_MAX_KEYS members;
 * ARG and ISV_SECRET must be objects of strings, ENV_WHITELIST an array of
 * strings, every other value a string (booleans and numbers are refused with a
 * message naming the key: build.py always sends strings); RUNTIME_TYPE one of
 * vpc/classic/on-prem; required on init: RUNTIME_TYPE, DOCKER_REPO,
 * DOCKER_USER, DOCKER_PASSWORD, GITHUB_URL, SECRET. Messages are static or name
 * keys only, never values.
 *
 * Secrets: params_is_secret(key) says which keys are secret (SECRET,
 * NEW_SECRET, *PASSWORD, GITHUB_KEY, *API_KEY*, ISV_SECRET, SECRETS). They are
 * stored (the volume is encrypted) but never returned, logged or reported.
 */
#ifndef SBS_PARAMS_H
#define SBS_PARAMS_H

#include <stddef.h>
#include "json.h"

/* Loads <dir>/params.json if present (else empty set). */
int params_open(const char *dir);
void params_close(void);
/* Checks a request body; on failure *msg is a static or key-naming message
 * (written to msgbuf) suitable for a 400 reply. */
int params_check(const json *body, int is_init, char *msgbuf, size_t cap, const char **msg);
/* init replaces the whole set; update merges (keys present in body win).
 * NEW_SECRET, if present, becomes SECRET and is not stored under its own name.
 * Persisted atomically before returning 0. */
int params_apply(const json *body, int is_init);
/* Borrowed view of the current set (object; empty before init). */
const json *params_get(void);
const char *params_str(const char *key);   /* NULL if absent or not a string */
int params_is_secret(const char *key);
/* 1 if init has been done. */
int params_initialised(void);
/* Replace the whole set (state-image import); persisted atomically. */
int params_replace(const json *all);

#endif
