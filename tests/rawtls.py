#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Raw HTTP over mutual TLS, for the bad-input tests: python's ssl module is a
client independent of sbs's own code.

  rawtls.py send PORT CERT KEY FILE     send FILE's bytes, print the first
                                        response's status line and body
  rawtls.py idle PORT N SECONDS CERT KEY URL_PORT
                                        hold N idle TCP connections (half of
                                        them after a finished TLS handshake)
                                        for SECONDS while printing how long a
                                        status request on a fresh connection
                                        takes (one line per probe)
"""
import socket, ssl, sys, time


def ctx(cert, key):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    c.load_cert_chain(cert, key)
    return c


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0] + b"\n" + body[:length]


def send(port, cert, key, path):
    payload = open(path, "rb").read()
    with socket.create_connection(("127.0.0.1", int(port)), timeout=20) as raw:
        with ctx(cert, key).wrap_socket(raw) as s:
            try:
                s.sendall(payload)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the server may answer and close before reading it all
            try:
                out = read_response(s)
            except (ConnectionResetError, ssl.SSLError) as e:
                out = b"connection error: " + str(e).encode()
    sys.stdout.write(out.decode("utf-8", "replace") + "\n")


STATUS = (b'GET /image HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n'
          b'Content-Length: 2\r\nConnection: close\r\n\r\n""')


def idle(port, n, seconds, cert, key):
    c = ctx(cert, key)
    held = []
    for i in range(int(n)):
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        if i % 2:
            s = c.wrap_socket(s)
        held.append(s)
    print("holding %d connections" % len(held), flush=True)
    end = time.time() + float(seconds)
    worst = 0.0
    while time.time() < end:
        t0 = time.time()
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as raw:
            with c.wrap_socket(raw) as s:
                s.sendall(STATUS)
                line = read_response(s).split(b"\n")[0]
        dt = time.time() - t0
        worst = max(worst, dt)
        if not line.startswith(b"HTTP/1.1 200"):
            print("probe failed: %r" % line)
            sys.exit(1)
        time.sleep(0.2)
    alive = 0
    for s in held:
        try:
            s.settimeout(0)
            s.recv(1)
        except (BlockingIOError, ssl.SSLWantReadError):
            alive += 1
        except Exception:
            pass
    print("worst %.3f s, %d of %d idle connections still open" % (worst, alive, len(held)))
    sys.exit(0 if worst < 1.0 else 2)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(*sys.argv[2:6])
    elif sys.argv[1] == "idle":
        idle(*sys.argv[2:7])
