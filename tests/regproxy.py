#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fault-injecting HTTP proxy in front of a real registry, for it_reg.sh.

usage: regproxy.py PORT UPSTREAM_PORT MODE LOG

Listens on 127.0.0.1:PORT, forwards to the registry on 127.0.0.1:UPSTREAM_PORT
(the Host header is kept, so the registry's Location URLs point back here)
and misbehaves per MODE. Every request and every injected fault is one line
in LOG (method, path without query, status, and tags like INJECT, TOKEN,
EXPIRED), which the test greps. Modes:
  pass        forward everything
  upload500   the first PATCH of an upload is forwarded but answered 500 (the
              answer is "lost"); the first PUT ?digest= is answered 500 without
              being forwarded
  always500   every request gets 500
  always401   every request gets 401 with a Basic challenge
  corrupt     blob GETs are forwarded with one byte of the body flipped
  endless     manifest GETs get 200 and a chunked body that never ends
              (stopped after 256 MiB or when the client hangs up)
  bearer      token auth: /v2/ requests need "Authorization: Bearer <t>" with a
              live token, else 401 + Bearer challenge (realm = /token here);
              /token checks Basic credentials (env PROXY_USER/PROXY_PASS)
              and issues random tokens that expire after env PROXY_TTL
              seconds (default 60); an expired token presented -> 401, EXPIRED
  bearer+redirect  bearer, and blob GETs are answered 307 to
              http://localhost:PORT/direct/... (another origin: "localhost"
              instead of "127.0.0.1"), served there without auth; each such
              GET logs DIRECT auth=yes|no (whether any Authorization came)
"""
import base64
import http.client
import http.server
import os
import secrets
import sys
import threading
import time

PORT, UP, MODE, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
USER = os.environ.get("PROXY_USER", "")
PASS = os.environ.get("PROXY_PASS", "")
TTL = int(os.environ.get("PROXY_TTL", "60"))
lock = threading.Lock()
state = {"patch": 0, "put": 0}
tokens = {}


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def path_only(self):
        return self.path.split("?", 1)[0]

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, headers=(), body=b"", tag=""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        log("%s %s %d %s" % (self.command, self.path_only(), status, tag))

    def forward(self, data, mangle=None, tag=""):
        c = http.client.HTTPConnection("127.0.0.1", UP, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        if not MODE.startswith("bearer") and "authorization" in {k.lower() for k in self.headers.keys()}:
            hdrs["Authorization"] = self.headers["Authorization"]
        c.request(self.command, self.path, body=data if data or self.command in ("PUT", "POST", "PATCH") else None, headers=hdrs)
        r = c.getresponse()
        out = r.read()
        if mangle and r.status == 200 and out:
            out = mangle(out)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)
        c.close()
        log("%s %s %d %s" % (self.command, self.path_only(), r.status, tag))
        return r.status

    def token(self):
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASS)).encode()).decode()
        scope = ""
        if "?" in self.path:
            for kv in self.path.split("?", 1)[1].split("&"):
                if kv.startswith("scope="):
                    scope = kv[6:]
        if USER and auth != want:
            return self.reply(401, [("WWW-Authenticate", 'Basic realm="token"')], b"{}", "TOKEN-DENIED")
        t = secrets.token_hex(24)
        with lock:
            tokens[t] = time.time() + TTL
        body = ('{"token":"%s","expires_in":%d,"issued_at":"2026-01-01T00:00:00Z"}' % (t, TTL)).encode()
        self.reply(200, [("Content-Type", "application/json")], body, "TOKEN scope=" + scope)

    def bearer_ok(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            with lock:
                until = tokens.get(auth[7:])
            if until and until > time.time():
                return True
            if until:
                log("%s %s EXPIRED" % (self.command, self.path_only()))
        name = self.path_only()[4:].split("/manifests/")[0].split("/blobs/")[0]
        ch = 'Bearer realm="http://127.0.0.1:%d/token",service="sbs-test",scope="repository:%s:pull"' % (PORT, name)
        self.reply(401, [("WWW-Authenticate", ch), ("Content-Type", "application/json")],
                   b'{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}', "CHALLENGE")
        return False

    def endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        log("%s %s 200 ENDLESS" % (self.command, self.path_only()))
        chunk = b" " * 65536
        try:
            pre = b'{"schemaVersion":2,"x":"'
            self.wfile.write(b"%x\r\n%s\r\n" % (len(pre), pre))
            for _ in range(4096):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass
        self.close_connection = True

    def handle_any(self):
        data = self.body()
        p = self.path_only()
        if MODE == "always500":
            return self.reply(500, body=b"oops", tag="INJECT")
        if MODE == "always401":
            return self.reply(401, [("WWW-Authenticate", 'Basic realm="x"')], b"{}", "INJECT")
        if p.startswith("/direct/"):
            log("GET %s DIRECT auth=%s" % (p, "yes" if self.headers.get("Authorization") else "no"))
            self.path = self.path[7:]
            return self.forward(data)
        if MODE.startswith("bearer"):
            if p == "/token":
                return self.token()
            if not self.bearer_ok():
                return
        if MODE == "bearer+redirect" and self.command == "GET" and "/blobs/sha256:" in p:
            return self.reply(307, [("Location", "http://localhost:%d/direct%s" % (PORT, self.path))],
                              b"", "REDIRECT")
        if MODE == "endless" and self.command == "GET" and "/manifests/" in p:
            return self.endless()
        if MODE == "corrupt" and self.command == "GET" and "/blobs/sha256:" in p:
            return self.forward(data, lambda b: bytes([b[0] ^ 1]) + b[1:], "INJECT")
        if MODE == "upload500" and self.command == "PATCH":
            with lock:
                state["patch"] += 1
                first = state["patch"] == 1
            if first:
                c = http.client.HTTPConnection("127.0.0.1", UP, timeout=30)
                c.request("PATCH", self.path, body=data, headers=dict(self.headers.items()))
                c.getresponse().read()
                c.close()
                return self.reply(500, body=b"lost", tag="INJECT")
        if MODE == "upload500" and self.command == "PUT" and "digest=" in self.path:
            with lock:
                state["put"] += 1
                first = state["put"] == 1
            if first:
                return self.reply(500, body=b"oops", tag="INJECT")
        self.forward(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
