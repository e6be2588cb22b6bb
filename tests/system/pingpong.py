#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Request/response exchanges of 64 bytes on one connection (tests only).

    pingpong.py serve ADDR PORT [--timeout S]
    pingpong.py send  ADDR PORT --count N [--interval MS] [--timeout S]

The sender sends message i (64 bytes, each byte (i + j) % 251), waits for
the server's echo and checks it, N times (--interval: pausing MS between
exchanges); then closes. Prints "ok count=N us_per_exchange=X p50_us=Y"
(the first over the whole run, pauses included) and exits 0, or says
what went wrong and exits 1.
"""
import argparse
import socket
import sys
import time

SIZE = 64


def message(i):
    return bytes((i + j) % 251 for j in range(SIZE))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def serve(a):
    family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.addr, a.port))
        ls.listen(1)
        ls.settimeout(a.timeout)
        c, _ = ls.accept()
        with c:
            c.settimeout(a.timeout)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            n = 0
            while True:
                m = recv_exact(c, SIZE)
                if not m:
                    break
                if len(m) != SIZE:
                    print("short request %d" % n)
                    return 1
                c.sendall(m)
                n += 1
    print("ok count=%d" % n)
    return 0


def send(a):
    with socket.create_connection((a.addr, a.port), timeout=a.timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        t0 = time.monotonic()
        for i in range(a.count):
            m = message(i)
            t1 = time.monotonic()
            s.sendall(m)
            if recv_exact(s, SIZE) != m:
                print("exchange %d: wrong or short answer" % i)
                return 1
            times.append(time.monotonic() - t1)
            if a.interval:
                time.sleep(a.interval / 1000)
        t = time.monotonic() - t0
    times.sort()
    print("ok count=%d us_per_exchange=%.1f p50_us=%.1f" % (
        a.count, t * 1e6 / a.count, times[len(times) // 2] * 1e6))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "send"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--interval", type=float, default=0)
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    try:
        return serve(a) if a.mode == "serve" else send(a)
    except (OSError, socket.timeout) as e:
        print("error: %s" % e)
        return 1


sys.exit(main())
