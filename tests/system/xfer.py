#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bulk transfer with a check of every byte (tests only).

    xfer.py serve ADDR PORT --bytes N [--echo] [--timeout S] [--count N]
    xfer.py send  ADDR PORT --bytes N [--echo] [--timeout S]
                  [--start-seq SEQ] [--bind ADDR] [--pause-at N... --pause S]
                  [--pause-file F]
    both: [--reset-after N] [--expect-reset]

Byte i of the stream is (i % 251). The server checks what it receives
(and echoes it with --echo); the sender checks the echo. --start-seq puts
the sender's sequence numbers at SEQ with TCP_REPAIR before connect().
--pause-at may be repeated; at each point the sender sleeps --pause S, and
with --pause-file F prints "paused at N" and waits until F exists (then
removes it). --reset-after N: after N bytes (echoed, with --echo), close with
SO_LINGER 0, i.e. send a RST. --expect-reset: a reset by the peer after some
data is the expected end ("ok reset seen").
Prints "ok bytes=N" and exits 0, or says what went wrong and exits 1
(3 on timeout).
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_SEND_QUEUE = 19, 20, 21, 2
PATTERN = bytes(i % 251 for i in range(251 * 1100))


def chunk(offset, n):
    start = offset % 251
    return PATTERN[start:start + n] if n <= len(PATTERN) - 251 else None


class Checker:
    def __init__(self, what):
        self.offset = 0
        self.what = what

    def feed(self, data):
        n = len(data)
        if data != chunk(self.offset, n):
            for i, b in enumerate(data):
                if b != (self.offset + i) % 251:
                    raise SystemExit("%s: byte %d is %d, expected %d" % (
                        self.what, self.offset + i, b, (self.offset + i) % 251))
        self.offset += n


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listener(a, backlog):
    """A socket listening on a.addr, a.port, its accept timing out after
    a.timeout."""
    ls = socket.socket(family(a.addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(backlog)
    ls.settimeout(a.timeout)
    return ls


def arg_parser():
    """The arguments xfer.py and stream.py share: serve|send ADDR PORT."""
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "send"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    return p


def run(a, serve, send, timeout_why=False):
    """serve(a) or send(a), as a.mode says; the exit status: 0, 1 on a
    connection error, 3 on a timeout (its reason said when timeout_why)."""
    try:
        (serve if a.mode == "serve" else send)(a)
    except socket.timeout as e:
        print("%s: timeout%s" % (a.mode, " %s" % e if timeout_why else ""), file=sys.stderr)
        return 3
    except ConnectionError as e:
        print("%s: %s" % (a.mode, e), file=sys.stderr)
        return 1
    return 0


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise socket.timeout("no %s" % path)
        time.sleep(0.05)
    os.unlink(path)


def send_all(sock, total, pause_at=(), pause=0, pause_file=None, timeout=30):
    off = 0
    points = sorted(p for p in pause_at if 0 < p < total)
    while off < total:
        n = min(65536, total - off)
        if points and off < points[0] <= off + n:
            n = points[0] - off
        sock.sendall(chunk(off, n))
        off += n
        if points and off == points[0]:
            points.pop(0)
            if pause_file:
                print("paused at %d" % off, flush=True)
                wait_file(pause_file, timeout)
            time.sleep(pause)


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends a RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def receive(sock, total, checker):
    while checker.offset < total:
        data = sock.recv(min(262144, total - checker.offset))
        if not data:
            raise SystemExit("%s: connection closed after %d of %d bytes" % (
                checker.what, checker.offset, total))
        checker.feed(data)


def serve(a):
    ls = listener(a, 4)
    print("listening", flush=True)
    for _ in range(a.count):
        conn, peer = ls.accept()
        serve_one(a, conn, peer)


def serve_one(a, conn, peer):
    conn.settimeout(a.timeout)
    check = Checker("server")
    try:
        if a.echo:
            while check.offset < a.bytes:
                data = conn.recv(min(262144, a.bytes - check.offset))
                if not data:
                    raise SystemExit("server: closed after %d bytes" % check.offset)
                check.feed(data)
                conn.sendall(data)
                if a.reset_after and check.offset >= a.reset_after:
                    reset(conn)
                    print("ok reset sent after %d bytes" % check.offset, flush=True)
                    return
        else:
            receive(conn, a.bytes, check)
    except ConnectionResetError:
        if a.expect_reset and check.offset:
            print("ok reset seen after %d bytes" % check.offset, flush=True)
            return
        raise
    # The peer closes first; wait for it so that our close is the last.
    conn.settimeout(a.timeout)
    rest = conn.recv(1)
    if rest:
        raise SystemExit("server: %d bytes more than expected" % len(rest))
    conn.close()
    print("ok bytes=%d from %s" % (check.offset, peer[0]), flush=True)


def send(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    if a.bind:
        s.bind((a.bind, 0))
    if a.start_seq is not None:
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
        s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ,
                     struct.pack("I", a.start_seq & 0xffffffff))
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    s.settimeout(a.timeout)
    s.connect((a.addr, a.port))
    total = min(a.bytes, a.reset_after or a.bytes)
    errors = []
    if a.echo:
        check = Checker("sender (echo)")

        def reader():
            try:
                receive(s, total, check)
            except BaseException as e:  # report from the main thread
                errors.append(e)
        t = threading.Thread(target=reader)
        t.start()
        try:
            send_all(s, total, a.pause_at, a.pause, a.pause_file, a.timeout)
        except (ConnectionResetError, BrokenPipeError) as e:
            errors.append(e)
        t.join(a.timeout)
        # The kernel reports a reset once: to whichever thread asks first;
        # the other then sees end of file (reader) or EPIPE (writer).
        if errors and a.expect_reset and check.offset and \
                any(isinstance(e, (ConnectionResetError, BrokenPipeError))
                    for e in errors):
            print("ok reset seen after %d bytes" % check.offset, flush=True)
            return
        if errors:
            raise SystemExit(str(errors[0]))
        if t.is_alive():
            raise SystemExit("sender: echo incomplete (%d of %d)" % (
                check.offset, total))
    else:
        send_all(s, total, a.pause_at, a.pause, a.pause_file, a.timeout)
    if a.reset_after:
        reset(s)
        print("ok reset sent after %d bytes" % total, flush=True)
        return
    s.shutdown(socket.SHUT_WR)
    if s.recv(1):
        raise SystemExit("sender: unexpected data after the echo")
    s.close()
    print("ok bytes=%d" % a.bytes, flush=True)


def main():
    p = arg_parser()
    p.add_argument("--bytes", type=int, default=65536)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--start-seq", type=lambda v: int(v, 0))
    p.add_argument("--bind")
    p.add_argument("--pause-at", type=int, action="append", default=[])
    p.add_argument("--pause", type=float, default=0)
    p.add_argument("--pause-file")
    p.add_argument("--reset-after", type=int)
    p.add_argument("--count", type=int, default=1,
                   help="serve: connections to serve, one after another")
    p.add_argument("--expect-reset", action="store_true")
    return run(p.parse_args(), serve, send)


if __name__ == "__main__":
    sys.exit(main())
