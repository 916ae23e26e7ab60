#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""IBM COS in miniature for it_s3.sh: an IAM token endpoint and an
authenticating, fault-injecting S3 front in front of a real s3rver.

usage: cosfake.py IAM_PORT S3_PORT S3RVER_PORT S3RVER_DIR LOG CERT KEY

Both listen on 127.0.0.1 with TLS (CERT/KEY, signed by the test's CA).

IAM (https://127.0.0.1:IAM_PORT/identity/token): a POST of
grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=K. K must equal env
COS_APIKEY, else 400 {"errorCode": "BXNIM0415E"}. Issues a random token that
lives env COS_TTL seconds (expires_in and expiration say so). Logs
"IAM issue" / "IAM refused".

S3 front (https://127.0.0.1:S3_PORT): every request must authenticate,
the way IBM COS does:
  - "Authorization: Bearer T": T issued here and not expired, and
    ibm-service-instance-id equal to env COS_CRN, else 403 AccessDenied
    (logged BEARER ok|expired|unknown|crn);
  - "Authorization: AWS4-HMAC-SHA256 ...": the signature is recomputed by
    botocore (an independent SigV4 implementation) over the headers the
    request lists as signed, with env COS_HMAC_ID / COS_HMAC_SECRET and
    region us-east-1, else 403 SignatureDoesNotMatch (SIGV4 ok|bad);
    x-amz-content-sha256 must be the SHA-256 of the body (400
    XAmzContentSHA256Mismatch);
  - anything else: 403 AccessDenied.
Content-MD5, when sent, must be the body's MD5 (400 BadDigest). Then the
request goes to s3rver without credentials. s3rver (3.x) has no
AbortMultipartUpload: DELETE ?uploadId=X is done here by removing X's
directory from s3rver's store (logged ABORT), which is exactly what an abort
leaves: no parts. Fault modes, read from the file LOG.mode on each request:
  pass           forward everything
  part2-500once  the first UploadPart of part 2 gets 500 (not forwarded)
  part2-500      every UploadPart of part 2 gets 500
  expire         the next request revokes every token issued so far (403),
                 then the mode is back to pass
Issued tokens are appended to LOG.tokens (the test greps for them).
Every request is one LOG line: METHOD PATH QUERY-KEYS STATUS TAGS.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import secrets
import shutil
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    sys.exit("cosfake.py: python3 botocore is required (Debian: python3-botocore)")

IAM_PORT, S3_PORT, UP = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
S3DIR, LOG, CERT, KEY = sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
APIKEY = os.environ["COS_APIKEY"]
CRN = os.environ["COS_CRN"]
HMAC_ID = os.environ["COS_HMAC_ID"]
HMAC_SECRET = os.environ["COS_HMAC_SECRET"]
TTL = int(os.environ.get("COS_TTL", "3600"))
lock = threading.Lock()
tokens = {}
state = {"once": False}


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def mode():
    try:
        with open(LOG + ".mode") as f:
            return f.read().strip()
    except OSError:
        return "pass"


def s3_error(code, msg):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s"
            "</Message></Error>" % (code, msg)).encode()


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=(), tag=""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        u = urllib.parse.urlsplit(self.path)
        q = ",".join(sorted(k for k, _ in urllib.parse.parse_qsl(u.query, keep_blank_values=True)))
        log("%s %s %s %d %s" % (self.command, u.path, q or "-", status, tag))


class IAM(Base):
    def do_POST(self):
        form = urllib.parse.parse_qs(self.body().decode("ascii", "replace"))
        if self.path.split("?")[0] != "/identity/token" or \
                form.get("grant_type") != ["urn:ibm:params:oauth:grant-type:apikey"]:
            return self.reply(400, b'{"errorCode":"BXNIM0109E"}', tag="IAM bad-request")
        if form.get("apikey") != [APIKEY]:
            return self.reply(400, b'{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found."}',
                              [("Content-Type", "application/json")], tag="IAM refused")
        tok = "tok-" + secrets.token_urlsafe(24)
        now = int(time.time())
        with lock:
            tokens[tok] = now + TTL
            with open(LOG + ".tokens", "a") as f:
                f.write(tok + "\n")
        body = json.dumps({"access_token": tok, "refresh_token": "not_supported", "token_type": "Bearer",
                           "expires_in": TTL, "expiration": now + TTL, "scope": "ibm openid"}).encode()
        self.reply(200, body, [("Content-Type", "application/json")], tag="IAM issue")


def sigv4_ok(h, method, path, data):
    auth = h.get("Authorization", "")
    try:
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        cred = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        if cred[0] != HMAC_ID or cred[2] != "us-east-1" or cred[3] != "s3":
            return False
        hdrs = {k: h[k] for k in signed if h.get(k) is not None}
        if len(hdrs) != len(signed) or "host" not in signed or "x-amz-date" not in signed:
            return False
        req = AWSRequest(method=method, url="https://" + h["Host"] + path, data=data, headers=hdrs)
        req.context["timestamp"] = h["x-amz-date"]
        a = S3SigV4Auth(Credentials(HMAC_ID, HMAC_SECRET), "s3", "us-east-1")
        want = a.signature(a.string_to_sign(req, a.canonical_request(req)), req)
        return secrets.compare_digest(want, fields["Signature"])
    except (KeyError, ValueError, IndexError):
        return False


class S3(Base):
    def authenticate(self, data):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            with lock:
                exp = tokens.get(auth[7:])
            if exp is None:
                return "BEARER unknown"
            if time.time() >= exp:
                return "BEARER expired"
            if self.headers.get("ibm-service-instance-id") != CRN:
                return "BEARER crn"
            return None
        if auth.startswith("AWS4-HMAC-SHA256 "):
            return None if sigv4_ok(self.headers, self.command, self.path, data) else "SIGV4 bad"
        return "ANON"

    def handle_any(self):
        data = self.body()
        why = self.authenticate(data)
        if why:
            code = "SignatureDoesNotMatch" if why.startswith("SIGV4") else "AccessDenied"
            return self.reply(403, s3_error(code, "Access Denied"), tag=why)
        tag = "SIGV4 ok" if self.headers["Authorization"].startswith("AWS4") else "BEARER ok"
        sha = self.headers.get("x-amz-content-sha256")
        if sha and sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(data).hexdigest():
            return self.reply(400, s3_error("XAmzContentSHA256Mismatch", "hash"), tag=tag)
        md5 = self.headers.get("Content-MD5")
        if md5 is not None and md5 != base64.b64encode(hashlib.md5(data).digest()).decode():
            return self.reply(400, s3_error("BadDigest", "md5"), tag=tag)
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        m = mode()
        if m == "expire":            # every token issued so far is revoked now
            with lock:
                for t in tokens:
                    tokens[t] = 0
            with open(LOG + ".mode", "w") as f:
                f.write("pass\n")
            return self.reply(403, s3_error("AccessDenied", "token revoked"), tag="BEARER expired")
        if m != "part2-500once":
            state["once"] = False
        if self.command == "PUT" and q.get("partNumber") == "2" and "uploadId" in q:
            with lock:
                first = m == "part2-500once" and not state["once"]
                if first:
                    state["once"] = True
            if m == "part2-500" or first:
                return self.reply(500, s3_error("InternalError", "injected"), tag=tag + " INJECT")
        if self.command == "DELETE" and "uploadId" in q:
            return self.abort(u.path, q["uploadId"], tag)
        self.forward(data, tag)

    def abort(self, path, upload_id, tag):
        bucket = urllib.parse.unquote(path).split("/")[1]
        found = False
        for root, dirs, _ in os.walk(os.path.join(S3DIR, bucket)):
            if upload_id in dirs and root.endswith("._S3rver_uploads"):
                shutil.rmtree(os.path.join(root, upload_id))
                found = True
        if not found:
            return self.reply(404, s3_error("NoSuchUpload", "no such upload"), tag=tag + " ABORT")
        self.reply(204, tag=tag + " ABORT")

    def forward(self, data, tag):
        c = http.client.HTTPConnection("127.0.0.1", UP, timeout=60)
        skip = {"authorization", "ibm-service-instance-id", "connection"}
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        c.request(self.command, self.path, body=data if data else None, headers=hdrs)
        r = c.getresponse()
        body = r.read()
        keep = [(k, v) for k, v in r.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        c.close()
        self.reply(r.status, body, keep, tag=tag)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve(port, handler):
    s = TLSServer(("127.0.0.1", port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()


serve(IAM_PORT, IAM)
serve(S3_PORT, S3)
log("READY")
while True:
    time.sleep(3600)
