#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# A PCCS-shaped HTTPS server for user/tests/test_pccs.c (test code only).
#
#   pccs_server.py DOCROOT CERT KEY PORTFILE LOG
#
# GET /<scenario>/<PCS v4 path> answers from DOCROOT/<scenario>/:
#   tdx/certification/v4/tcb          tcb.json, header TCB-Info-Issuer-Chain
#                                     from tcb.chain (URL-encoded)
#   tdx/certification/v4/qe/identity  qe.json, SGX-Enclave-Identity-Issuer-Chain
#   sgx/certification/v4/pckcrl       pckcrl.der, SGX-PCK-CRL-Issuer-Chain
#   sgx/certification/v4/rootcacrl    rootcacrl (DER or hex)
# A file "<endpoint>.raw" holds a header value sent as it is (not encoded).
# A file "behave" holds "<endpoint> <mode>" lines, mode one of: slow (one
# byte every 0.2 s, never finishing in time), truncated, oversized (2 MiB,
# no length), bighdr (100 KiB of headers), 404, 500.  Every request is
# appended to LOG as "<scenario> <endpoint>".  The port is written to
# PORTFILE (atomically) once the server listens.
import os
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCROOT, CERT, KEY, PORTFILE, LOG = sys.argv[1:6]
ENDPOINTS = {
    "tdx/certification/v4/tcb": ("tcb", "tcb.json", "TCB-Info-Issuer-Chain"),
    "tdx/certification/v4/qe/identity": ("qe", "qe.json", "SGX-Enclave-Identity-Issuer-Chain"),
    "sgx/certification/v4/pckcrl": ("pckcrl", "pckcrl.der", "SGX-PCK-CRL-Issuer-Chain"),
    "sgx/certification/v4/rootcacrl": ("rootcacrl", "rootcacrl", None),
}


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def plain(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        scenario, _, rest = u.path.lstrip("/").partition("/")
        ep = ENDPOINTS.get(rest)
        d = os.path.join(DOCROOT, os.path.basename(scenario))
        if not ep or not os.path.isdir(d):
            return self.plain(404)
        name, body_file, hdr = ep
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (scenario, name))
        q = urllib.parse.parse_qs(u.query)
        if name == "tcb" and len(q.get("fmspc", [""])[0]) != 12:
            return self.plain(400)
        if name == "pckcrl" and (q.get("ca") not in (["platform"], ["processor"]) or
                                 q.get("encoding") != ["der"]):
            return self.plain(400)
        mode = None
        if os.path.exists(os.path.join(d, "behave")):
            for line in read(os.path.join(d, "behave")).decode().splitlines():
                w = line.split()
                if len(w) == 2 and w[0] == name:
                    mode = w[1]
        if mode in ("404", "500"):
            return self.plain(int(mode))
        body = read(os.path.join(d, body_file))
        self.send_response(200)
        if hdr:
            raw = os.path.join(d, name + ".raw")
            if os.path.exists(raw):
                val = read(raw).decode()
            else:
                val = urllib.parse.quote(read(os.path.join(d, name + ".chain")).decode(), safe="")
            self.send_header(hdr, val)
        if mode == "bighdr":
            for i in range(100):
                self.send_header("X-Padding-%d" % i, "x" * 1024)
        if mode == "oversized":
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"0" * 65536
            try:
                for _ in range(32):
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncated":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "slow":
            # one byte every 0.2 s: the whole body takes minutes, far past
            # any deadline the tests give; stop when the client goes away
            try:
                for b in body:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            self.close_connection = True
            return
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass    # a client refusing our certificate is one of the tests

    def get_request(self):
        sock, addr = self.socket.accept()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


srv = Server(("127.0.0.1", 0), Handler)
tmp = PORTFILE + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, PORTFILE)
srv.serve_forever()
