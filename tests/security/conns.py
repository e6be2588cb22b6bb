#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Many TCP connections (tests only).

    conns.py serve ADDR PORT SECONDS
        accepts connections and echoes what they send, for SECONDS.
    conns.py open ADDR PORT N TIMEOUT HOLD
        opens N connections at once (non-blocking), waits up to TIMEOUT
        seconds, checks each open one with an echo, prints
        "connected=K", and keeps them open HOLD seconds.
    conns.py seq ADDR PORT N TIMEOUT
        opens N connections one after the other, each checked with an
        echo and closed (its flows then wait in TIME-WAIT); prints
        "connected=K".
"""
import selectors
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port, seconds):
    ls = socket.socket(family(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(256)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    end = time.time() + float(seconds)
    while time.time() < end:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data:
                s.sendall(data)
            else:
                sel.unregister(s)
                s.close()


def open_many(addr, port, n, timeout, hold):
    socks = []
    for _ in range(int(n)):
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((addr, int(port)))
        socks.append(s)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    pending, ok = set(socks), []
    end = time.time() + float(timeout)
    while pending and time.time() < end:
        for key, _ in sel.select(0.1):
            s = key.fileobj
            sel.unregister(s)
            pending.discard(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                ok.append(s)
    good = 0
    for s in ok:
        s.setblocking(True)
        s.settimeout(3)
        try:
            s.sendall(b"ping")
            good += s.recv(16) == b"ping"
        except OSError:
            pass
    print("connected=%d" % good, flush=True)
    time.sleep(float(hold))


def one_after_another(addr, port, n, timeout):
    good = 0
    for _ in range(int(n)):
        try:
            with socket.create_connection((addr, int(port)),
                                          float(timeout)) as s:
                s.sendall(b"ping")
                good += s.recv(16) == b"ping"
                s.shutdown(socket.SHUT_WR)
                s.recv(16)  # the server's FIN
        except OSError:
            pass
    print("connected=%d" % good, flush=True)


def main():
    if sys.argv[1] == "serve":
        serve(*sys.argv[2:5])
    elif sys.argv[1] == "seq":
        one_after_another(*sys.argv[2:6])
    else:
        open_many(*sys.argv[2:7])


if __name__ == "__main__":
    main()
