#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux's TCP-AO socket API through libtcpao-preload.so, timed from the
application (bench/sockapi runs it in a namespace, under the preload).

    sockapi.py connect DST PORT N     N connections to DST:PORT, each with
                                      its key: connect() (the preload
                                      registers the socket), the handshake,
                                      getsockopt(SO_ERROR)
    sockapi.py listen ADDR PORT K PEER
                                      a listener holding K keys (PEER's
                                      and K - 1 others) that accepts and
                                      closes; prints "ready" once it
                                      listens
    sockapi.py connect DST PORT N NAME
                                      the same N connections, printing
                                      only "NAME total"
    sockapi.py keys ADDR SIZES N      per size K: a listener holding K keys,
                                      N times TCP_AO_DEL_KEY of one key and
                                      TCP_AO_ADD_KEY of it back (then
                                      GET_KEYS of it, as Linux's
                                      bench-lookups); and listen() of a
                                      socket holding K keys

Prints "name value_us" lines (medians).
"""
import ctypes
import select
import socket
import struct
import sys
import time

TCP_AO_ADD_KEY, TCP_AO_DEL_KEY, TCP_AO_GET_KEYS = 38, 39, 41
SECRET = b"bench-sockapi"


def ao_add(ip):
    """struct tcp_ao_add for ip/32, ids 100, hmac(sha1)."""
    addr = struct.pack("=H", socket.AF_INET) + b"\0\0" + socket.inet_aton(ip)
    return (addr.ljust(128, b"\0") + b"hmac(sha1)".ljust(64, b"\0") +
            struct.pack("=iIHBBBBBB", 0, 0, 0, 32, 100, 100, 12, 0, len(SECRET)) +
            SECRET.ljust(80, b"\0"))


def ao_del(ip):
    """struct tcp_ao_del for ip/32, ids 100."""
    addr = struct.pack("=H", socket.AF_INET) + b"\0\0" + socket.inet_aton(ip)
    return addr.ljust(128, b"\0") + struct.pack("=iIHBBBBBB", 0, 0, 0, 32, 100, 100, 0, 0, 0)


def ao_get(ip):
    """struct tcp_ao_getsockopt asking for ip/32's key (ids 100), 1 entry."""
    addr = struct.pack("=H", socket.AF_INET) + b"\0\0" + socket.inet_aton(ip)
    return (addr.ljust(128, b"\0") + b"\0" * 64 + b"\0" * 80 +
            struct.pack("=IHBBBBBBiQQ", 1, 0, 100, 100, 32, 0, 0, 0, 0, 0, 0))


LIBC = ctypes.CDLL(None, use_errno=True)  # the preload's getsockopt


def get_keys(sock, ip):
    """GET_KEYS with its input (Python's getsockopt sends none)."""
    buf = ctypes.create_string_buffer(ao_get(ip), 304)
    n = ctypes.c_uint(304)
    if LIBC.getsockopt(sock.fileno(), socket.IPPROTO_TCP, TCP_AO_GET_KEYS, buf,
                       ctypes.byref(n)):
        sys.exit("TCP_AO_GET_KEYS: errno %d" % ctypes.get_errno())


def median(v):
    v = sorted(v)
    return v[len(v) // 2] * 1e6


def peer_ip(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def listen(addr, port, k, peer):
    lsk = socket.socket()
    lsk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsk.bind((addr, port))
    lsk.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(peer))
    for i in range(1, k):
        lsk.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(peer_ip(i)))
    lsk.listen(128)
    print("ready", flush=True)
    while True:
        c, _ = lsk.accept()
        c.close()


def connect(dst, port, n, name=None):
    t = {"connect": [], "handshake": [], "so_error": [], "total": []}
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(dst))
        t0 = time.perf_counter()
        try:
            s.connect((dst, port))
        except BlockingIOError:
            pass
        t1 = time.perf_counter()
        if not select.select([], [s], [], 5)[1]:
            sys.exit("connect to %s port %d timed out" % (dst, port))
        t2 = time.perf_counter()
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        t3 = time.perf_counter()
        if err:
            sys.exit("connect: errno %d" % err)
        s.close()
        for k, v in (("connect", t1 - t0), ("handshake", t2 - t1),
                     ("so_error", t3 - t2), ("total", t3 - t0)):
            t[k].append(v)
        time.sleep(0.001)
    if name:
        print("%s %.1f" % (name, median(t["total"])))
        return
    for k, v in t.items():
        print("%s %.1f" % (k, median(v)))


def keys(addr, sizes, n):
    for k in sizes:
        ips = [peer_ip(i) for i in range(1, k + 1)]
        lsk = socket.socket()
        lsk.bind((addr, 0))
        lsk.listen(8)
        for ip in ips:
            lsk.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(ip))
        add, dele = [], []
        for i in range(n):
            ip = ips[(i * 7919) % k]
            t0 = time.perf_counter()
            lsk.setsockopt(socket.IPPROTO_TCP, TCP_AO_DEL_KEY, ao_del(ip))
            t1 = time.perf_counter()
            lsk.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(ip))
            get_keys(lsk, ip)
            t2 = time.perf_counter()
            dele.append(t1 - t0)
            add.append(t2 - t1)
        lsk.close()
        print("del-%d %.1f" % (k, median(dele)))
        print("add-%d %.1f" % (k, median(add)))
        s = socket.socket()
        s.bind((addr, 0))
        for ip in ips:
            s.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(ip))
        t0 = time.perf_counter()
        s.listen(8)
        print("listen-%d %.1f" % (k, (time.perf_counter() - t0) * 1e6))
        s.close()


def main():
    if sys.argv[1] == "connect":
        connect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                sys.argv[5] if len(sys.argv) > 5 else None)
    elif sys.argv[1] == "listen":
        listen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "keys":
        keys(sys.argv[2], [int(x) for x in sys.argv[3].split(",")], int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
