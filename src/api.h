/* SPDX-License-Identifier: MIT */
/*
 * api: the HPSB REST protocol (shared/PROTOCOL.md §8, §10, §13) on top of
 * server.c. Routes on exact method and path; every request may carry a JSON
 * body (build.py sends the two bytes "" when it has nothing to say), which
 * must parse. /config-json, /config-python and /imagedigest answer 201 on
 * success and plain text on error, as build.py requires.
 *
 * Persistent state in the data directory: params.json (params.c), keys/
 * (the keeper process: keeperd.c, kstore.c), status.json (this module:
 * status, build_name, image_tag, image digest), build.log, tls-cert.pem
 * (tlsid.c). Secrets never appear in
 * any reply or log line.
 */
#ifndef SBS_API_H
#define SBS_API_H

#include "server.h"
#include "hal.h"

/* ca_bundle: PEM trust anchors for the builder's https (git, registries). */
int api_open(const char *data_dir, const struct hal *hal, const char *ca_bundle);
void api_handle(const struct http_msg *req, struct srv_reply *rep);
/* Reaps the builder and reads its progress, and checks that the keeper
 * lives (keeper_check: exits if not); called by the server loop. */
void api_tick(void);

#endif
