/* SPDX-License-Identifier: MIT */
/*
 * keeperd: the keeper process (docs/processes.md). Forked by keeper_spawn()
 * (src/keeper.c) before the API process reads any secret; it
 *   - asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG) and
 *     exits when the channel closes, so it never outlives the API process;
 *   - closes every descriptor but stderr and its channel (stdin and stdout
 *     become /dev/null), and is
 *     not dumpable (no core file, no ptrace or /proc/<pid>/mem for a process
 *     without CAP_SYS_PTRACE);
 *   - opens the key store, installs the deploy-time TLS key if given, and
 *     wipes SERVER_KEY and SBS_APPLIANCE_SECRET from its initial environment
 *     (/proc/<pid>/environ is readable where /proc/<pid>/mem is not; the
 *     appliance secret moves to the heap for HAL se);
 *   - with drop_privileges: sets no_new_privs, empties its capability sets
 *     (bounding, permitted, effective, inheritable, ambient) and installs a
 *     seccomp filter that refuses every socket, exec, fork and ptrace-like
 *     call (where the kernel has seccomp): it can only read and write its
 *     keys directory and its channel;
 *   - reports the open result as a first message (op 0, status), then
 *     answers requests (kproto.h) one at a time until the channel closes.
 * The API process is untrusted here: every request goes through
 * kproto_req_parse, a malformed one gets -EINVAL, a framing violation ends
 * the keeper (and so the API process, which then cannot sign any more).
 */
#ifndef SBS_KEEPERD_H
#define SBS_KEEPERD_H

#include "keeper.h"
#include "kproto.h"

/* Runs the keeper in a freshly forked child; never returns. parent is the
 * pid of the API process. */
_Noreturn void keeperd_main(int fd, pid_t parent, const struct keeper_cfg *cfg);

/* One request (header + payload) through the decoder and the key store, the
 * answer sent on fd. Exposed for the fuzz target. */
void keeperd_handle(int fd, const struct kproto_hdr *h, const uint8_t *p, size_t len);

#endif
