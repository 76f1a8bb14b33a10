#!/usr/bin/env python3
"""Replays hostile and careless requests against a real `rapport serve` and counts, per class,
how many were tried, answered 2xx/4xx/5xx (no answer at all counts as 5xx), and how often the server died
(issue 18).

    python3 bench/hostile_requests.py [--rapport build-rel/rapport]

It starts the server itself on 127.0.0.1 (a fresh SQLite database in a temporary directory),
creates an admin and a partner token with `rapport token create`, sends every request on its
own connection, checks /health after each one and restarts the server after a death (so one
crash does not hide the rest). Exit status 1 if any request got a 5xx or killed the server.
"""
import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

class Server:
    def __init__(self, rapport, workdir):
        self.rapport = rapport
        self.db = os.path.join(workdir, "hostile.db")
        self.proc = None
        self.port = 0

    def token(self, *args):
        out = subprocess.run([self.rapport, "token", "create", "--db", self.db, *args],
                             check=True, capture_output=True, text=True).stdout
        return re.search(r"(tok_\S+)", out).group(1)

    def start(self):
        self.proc = subprocess.Popen([self.rapport, "serve", "--port", "0", "--db", self.db],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.proc.stdout:
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            raise RuntimeError("rapport serve did not start")
        # Keep reading the log so the server never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def alive(self):
        if self.proc.poll() is not None:
            return False
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", "/health")
            return c.getresponse().status == 200
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def send(port, method, target, body=b"", headers=None):
    """Sends one request with the target bytes as given (no client-side escaping)."""
    head = [f"{method} ".encode() + target + b" HTTP/1.1", b"Host: 127.0.0.1",
            b"Connection: close", b"Content-Length: " + str(len(body)).encode()]
    for k, v in (headers or {}).items():
        head.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    data = b"\r\n".join(head) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may answer (413) and close before an oversized body is sent
        reply = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(m.group(1)) if m else 0


def requests(admin, partner):
    """(class, method, target bytes, body bytes, headers)"""
    a = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    p = {"Authorization": f"Bearer {partner}"}
    nd = dict(a, **{"Content-Type": "application/x-ndjson"})
    event = lambda payload: (b'{"id":"h1","type":"kit.delivered","subject":"shop:C-1",'
                             b'"occurred_at":"2026-11-06T13:05:00Z","payload":' + payload + b"}")
    deep = b"[" * 70000 + b"]" * 70000
    out = []
    for t in [b"/%FF", b"/%C0%AF", b"/v1/persons/%FF%FE", b"/v1/cases/%ED%A0%80",
              b"/v1/events?subject=%FF", b"/v1/persons?q=%FF%FE", b"/%00", b"/v1/%2e%2e/%2e%2e/etc"]:
        for hdr in ({}, a):
            out.append(("path and query not UTF-8", "GET", t, b"", hdr))
    for path in [b"/v1/events", b"/v1/records"]:
        out.append(("JSON nested 70,000 deep", "POST", path, event(deep), a))
        out.append(("JSON nested 70,000 deep", "POST", path, deep, a))
        out.append(("JSON nested 70,000 deep", "POST", path, event(deep) + b"\n", nd))
    for num in [b"1e999", b"-1e999", b"1" * 400, b"1e-999"]:
        out.append(("numbers out of range", "POST", b"/v1/events", event(b'{"n":' + num + b"}"), a))
        out.append(("numbers out of range", "POST", b"/v1/admin/clock", b'{"advance":' + num + b"}", a))
    for body in [event(b'"\xff\xfe"'), b'{"source":"shop","key":"\xc0\xaf","fields":{}}',
                 event(b'"\xed\xa0\x80"'), b"\xef\xbb\xbf" + event(b"{}")]:
        out.append(("body not UTF-8", "POST", b"/v1/events", body, a))
        out.append(("body not UTF-8", "POST", b"/v1/records", body, a))
    routes = [b"/v1/events", b"/v1/outbox", b"/v1/cases", b"/v1/work-orders", b"/v1/reviews",
              b"/v1/audit", b"/v1/journeys/x/instances", b"/v1/persons?q=a&x=1"]
    for r in routes:
        sep = b"&" if b"?" in r else b"?"
        for v in [b"abc", b"-1", b"0", b"1e3", b"99999999999999999999", b"%FF", b""]:
            out.append(("query numbers", "GET", r + sep + b"limit=" + v, b"", a))
    for body in [b"{", b'{"id":', b"[1,2", b'{"a":1}}', b"null", b"\x00\x01", b'{"id":"x"}\n{bad}']:
        out.append(("malformed JSON/NDJSON", "POST", b"/v1/events", body, a))
        out.append(("malformed JSON/NDJSON", "POST", b"/v1/records", body, nd))
        out.append(("malformed JSON/NDJSON", "POST", b"/v1/cases", body, a))
    for auth in ["", "Bearer", "Bearer ", "Bearer x", "Basic YWRtaW46YWRtaW4=", f"bearer {admin}",
                 f"Bearer {admin}x", "Bearer " + "A" * 10000, f"Bearer {admin}\x00"]:
        hdr = {"Authorization": auth} if auth else {}
        out.append(("wrong tokens", "GET", b"/v1/events", b"", hdr))
    for i in range(40):
        out.append(("partner guesses person ids", "GET",
                    f"/v1/partner/persons/per_01M9{i:022d}?purpose=service-visit".encode(), b"", p))
    for path in [b"/v1/admin/tokens", b"/v1/persons/x/erasure", b"/v1/records"]:
        out.append(("partner on admin routes", "POST", path, b"{}", p))
    out.append(("oversized body", "POST", b"/v1/events", b"[" + b"0," * (64 << 20) + b"0]", a))
    for body in [b'{"person":"per_DOESNOTEXIST","type":"question","text":"x"}', b'{"person":""}']:
        out.append(("unknown ids", "POST", b"/v1/cases", body, a))
    for t in [b"/v1/persons/per_nope", b"/v1/cases/case_nope", b"/v1/events/nope", b"/v1/households/x"]:
        out.append(("unknown ids", "GET", t, b"", a))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rapport", default="build-rel/rapport")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        server = Server(os.path.abspath(args.rapport), work)
        admin = server.token("--role", "admin")
        partner = server.token("--role", "partner", "--org", "acme")
        server.start()
        stats = {}
        try:
            for cls, method, target, body, headers in requests(admin, partner):
                s = stats.setdefault(cls, {"tried": 0, "2xx": 0, "4xx": 0, "5xx": 0, "deaths": 0})
                s["tried"] += 1
                status = send(server.port, method, target, body, headers)
                if 200 <= status < 300:
                    s["2xx"] += 1
                elif 400 <= status < 500:
                    s["4xx"] += 1
                elif status >= 500 or status == 0:
                    s["5xx"] += 1
                    print(f"{status or 'no answer'}: {cls}: {method} {target[:80]!r}",
                          file=sys.stderr)
                if not server.alive():
                    s["deaths"] += 1
                    print(f"death: {cls}: {method} {target[:80]!r}", file=sys.stderr)
                    server.stop()
                    server.start()
        finally:
            server.stop()
    print(f"{'class':32} {'tried':>6} {'2xx':>5} {'4xx':>5} {'5xx':>5} {'deaths':>7}")
    bad = 0
    for cls, s in stats.items():
        print(f"{cls:32} {s['tried']:6} {s['2xx']:5} {s['4xx']:5} {s['5xx']:5} {s['deaths']:7}")
        bad += s["5xx"] + s["deaths"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
