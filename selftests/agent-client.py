#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Hostile and raw clients of dstack-pod-agent, run by selftests/agent.sh
# inside a Pod.  Prints "client NAME ok|FAIL detail" per check and exits
# non-zero if any failed.  Every verdict is on an outcome (status line,
# closed connection, a later request served), never on elapsed time.
#
#   agent-client.py SOCKET MODE
#   MODE: hostile | getkey | one (one GetQuote, for liveness)
import json
import os
import socket
import sys

SOCK, MODE = sys.argv[1], sys.argv[2]
failed = 0


def line(name, ok, detail=""):
    global failed
    print("client %s %s %s" % (name, "ok" if ok else "FAIL", detail), flush=True)
    if not ok:
        failed = 1


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A blocking connect waits for room in the listen backlog (a
    # non-blocking one fails with EAGAIN when 1,000 arrive at once).
    s.connect(SOCK)
    s.settimeout(300)  # only ends a hung test; verdicts never depend on it
    return s


def read_all(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    return out


def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def body(resp):
    i = resp.find(b"\r\n\r\n")
    return resp[i + 4:] if i >= 0 else b""


def request(raw):
    s = conn()
    s.sendall(raw)
    r = read_all(s)
    s.close()
    return r


def post(path, obj):
    b = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return request(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: "
                   + str(len(b)).encode() + b"\r\n\r\n" + b)


def one():
    r = post("/GetQuote", {"report_data": "00"})
    j = json.loads(body(r)) if status(r) == 200 else {}
    return status(r) == 200 and len(j.get("quote", "")) > 1000, status(r)


if MODE == "one":
    ok, st = one()
    line("getquote", ok, "status %d" % st)
elif MODE == "getkey":
    r = post("/GetKey", {"path": "k"})
    line("getkey-no-upstream", status(r) == 501 and b"upstream" in body(r),
         body(r).decode(errors="replace"))
elif MODE == "hostile":
    # Oversized body: refused from the Content-Length alone.
    r = request(b"POST /GetQuote HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n")
    line("oversized-body", status(r) == 413, r[:40])
    # Oversized head: 431 once the cap is crossed.
    r = request(b"POST /GetQuote HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
    line("oversized-head", status(r) == 431, r[:40])
    # Chunked body.
    r = request(b"POST /GetQuote HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"2\r\n{}\r\n0\r\n\r\n")
    line("chunked", status(r) == 411 and b"chunked" in body(r), body(r))
    # No Content-Length.
    r = request(b"POST /GetQuote HTTP/1.1\r\nHost: x\r\n\r\n")
    line("no-content-length", status(r) == 411, r[:40])
    # Bad JSON.
    r = post("/GetQuote", b"{\"report_data\": ")
    line("bad-json", status(r) == 400 and b"not valid JSON" in body(r), body(r))
    r = post("/GetQuote", {"report_data": "zz"})
    line("bad-hex", status(r) == 400, body(r))
    r = post("/GetQuote", {"report_data": "00" * 65})
    line("report-data-too-long", status(r) == 400, body(r))
    r = post("/NoSuchMethod", {})
    line("unknown-method", status(r) == 404, body(r))
    # Slowloris: half a head, then nothing.  The deadline cuts it: 408 and
    # the connection closed, however long that takes on a loaded machine.
    s = conn()
    s.sendall(b"POST /GetQuote HTTP/1.1\r\nHost: x\r\nContent-Le")
    r = read_all(s)
    s.close()
    line("slowloris-head", status(r) == 408, r[:40])
    # Slow body: head complete, body never finished.
    s = conn()
    s.sendall(b"POST /GetQuote HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"a")
    r = read_all(s)
    s.close()
    line("slowloris-body", status(r) == 408, r[:40])
    # A client that exits mid-request (a child process that sends half a
    # request and exits), then a normal request is served.
    pid = os.fork()
    if pid == 0:
        s = conn()
        s.sendall(b"POST /GetQuote HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        os._exit(0)
    os.waitpid(pid, 0)
    ok, st = one()
    line("client-exits-mid-request", ok, "then GetQuote status %d" % st)
    # A client that sends a whole request and exits before the reply.
    pid = os.fork()
    if pid == 0:
        s = conn()
        s.sendall(b"POST /GetQuote HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        os._exit(0)
    os.waitpid(pid, 0)
    ok, st = one()
    line("client-exits-before-reply", ok, "then GetQuote status %d" % st)
    # 1,000 concurrent connections, each with a partial request; then
    # every one is answered (408 by the deadline, or 503 when over the
    # connection cap) or closed, and a normal request is served.
    socks = []
    for i in range(1000):
        try:
            s = conn()
        except OSError as e:
            line("connect-%d" % i, False, str(e))
            break
        try:
            s.sendall(b"POST /Version HTTP/1.1\r\n")
        except OSError:
            pass  # refused (503) and closed by the agent already
        socks.append(s)
    opened = len(socks)
    statuses = {}
    for s in socks:
        st = status(read_all(s))
        statuses[st] = statuses.get(st, 0) + 1
        s.close()
    line("1000-connections", opened == 1000 and
         set(statuses) <= {408, 503}, "opened %d, statuses %s" % (opened, statuses))
    ok, st = one()
    line("served-after-1000", ok, "status %d" % st)
else:
    line("mode", False, MODE)
sys.exit(failed)
