#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Two sessions side by side for the kernel's TCP-MD5 bypass test.

    md5peer.py serve AO_ADDR MD5_ADDR MD5_PEER PORT OUT_DIR
    md5peer.py send  AO_ADDR MD5_ADDR MD5_LOCAL PORT CHUNKS GO_DIR

The MD5 session uses setsockopt(TCP_MD5SIG) on both ends; the AO session
is plain (tcpaod signs it by host policy). The sender writes chunk k
("chunk-kkkk|" padded to 64 bytes) on both, prints "sent k", and waits
for GO_DIR/go.k before the next. The server writes everything each session
delivered to OUT_DIR/{ao,md5}.bin and exits 0 when both are exactly the
chunks sent, 1 otherwise (forged bytes delivered).
"""
import os
import select
import socket
import struct
import sys
import time

TCP_MD5SIG = 14
KEY = b"md5-bypass-test-key"


def md5sig(sock, peer):
    fam = socket.AF_INET6 if ":" in peer else socket.AF_INET
    if fam == socket.AF_INET:
        sa = struct.pack("=H", fam) + struct.pack("!H", 0) + socket.inet_aton(peer)
    else:
        sa = struct.pack("=H", fam) + struct.pack("!HI", 0, 0) + \
            socket.inet_pton(fam, peer) + struct.pack("I", 0)
    sa = sa.ljust(128, b"\0")
    opt = sa + struct.pack("=BBHI", 0, 0, len(KEY), 0) + KEY.ljust(80, b"\0")
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, opt)


def chunk(k):
    return ("chunk-%04d|" % k).encode().ljust(64, b".")


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(ao, md5, md5peer, port, out):
    ls = []
    for addr, peer in ((ao, None), (md5, md5peer)):
        s = socket.socket(family(addr))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if peer:
            md5sig(s, peer)
        s.bind((addr, port))
        s.listen(1)
        ls.append(s)
    conns = [ls[0].accept()[0], ls[1].accept()[0]]
    data = [b"", b""]
    open_ = [True, True]
    deadline = time.time() + 180
    while any(open_) and time.time() < deadline:
        r, _, _ = select.select([c for c, o in zip(conns, open_) if o], [], [], 1)
        for c in r:
            i = conns.index(c)
            try:
                b = c.recv(65536)
            except OSError as e:
                print("%s: %s" % (("ao", "md5")[i], e))
                b = b""
            if not b:
                open_[i] = False
            data[i] += b
    ok = True
    for name, d in zip(("ao", "md5"), data):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(d)
        n = len(d) // 64
        want = b"".join(chunk(k) for k in range(n))
        forged = d.count(b"FORGED")
        good = d == want and len(d) % 64 == 0
        print("%s: %d bytes, %d chunks, %d forged, %s" % (
            name, len(d), n, forged, "intact" if good else "NOT INTACT"))
        ok = ok and good and forged == 0
    sys.exit(0 if ok else 1)


def send(ao, md5, local, port, chunks, go):
    a = socket.create_connection((ao, port), timeout=60)
    m = socket.socket(family(md5))
    md5sig(m, md5)
    m.bind((local, 0))
    m.settimeout(60)
    m.connect((md5, port))
    for k in range(chunks):
        a.sendall(chunk(k))
        m.sendall(chunk(k))
        time.sleep(0.3)  # on the wire (and in the capture) before we say so
        print("sent %d" % k, flush=True)
        f = os.path.join(go, "go.%d" % k)
        deadline = time.time() + 120
        while not os.path.exists(f) and time.time() < deadline:
            time.sleep(0.05)
    a.close()
    m.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        send(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]),
             int(sys.argv[6]), sys.argv[7])
