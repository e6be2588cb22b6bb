#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A paced echo stream that runs until told to stop (tests only).

    stream.py serve ADDR PORT [--timeout S]
    stream.py send  ADDR PORT --stop-file F [--rate BYTES/S] [--max-seconds S]

The sender sends the pattern of xfer.py (byte i is i % 251) at about
--rate bytes per second until F exists, then closes its side; the server
checks every byte, echoes it, and closes when the sender has. The sender
checks the echo. Both print "ok bytes=N" (N bytes each way) and exit 0,
or say what went wrong and exit 1 (3 on a timeout). Used where traffic
must flow in both directions all along, for as long as something else
takes (key rotations), without a fixed size.
"""
import os
import socket
import sys
import threading
import time

from xfer import Checker, arg_parser, chunk, family, listener, run

CHUNK = 1024


def serve(a):
    ls = listener(a, 1)
    conn, peer = ls.accept()
    conn.settimeout(a.timeout)
    check = Checker("server")
    while True:
        data = conn.recv(65536)
        if not data:
            break
        check.feed(data)
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)
    conn.close()
    print("ok bytes=%d from %s" % (check.offset, peer[0]), flush=True)


def read_echo(sock, check, errors):
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            check.feed(data)
    except BaseException as e:  # reported by the main thread
        errors.append(e)


def send(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.connect((a.addr, a.port))
    check, errors = Checker("sender (echo)"), []
    reader = threading.Thread(target=read_echo, args=(s, check, errors))
    reader.start()
    print("streaming", flush=True)
    sent, start = 0, time.monotonic()
    while not os.path.exists(a.stop_file):
        if time.monotonic() - start > a.max_seconds:
            s.close()
            raise socket.timeout("no %s after %d s" % (a.stop_file, a.max_seconds))
        s.sendall(chunk(sent, CHUNK))
        sent += CHUNK
        ahead = sent / a.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    s.shutdown(socket.SHUT_WR)
    reader.join(a.timeout)
    if errors:
        raise SystemExit(str(errors[0]))
    if reader.is_alive() or check.offset != sent:
        raise SystemExit("sender: echo has %d of %d bytes" % (check.offset, sent))
    s.close()
    print("ok bytes=%d" % sent, flush=True)


def main():
    p = arg_parser()
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--stop-file")
    p.add_argument("--rate", type=float, default=500000)
    p.add_argument("--max-seconds", type=float, default=300)
    a = p.parse_args()
    if a.mode == "send" and not a.stop_file:
        p.error("send needs --stop-file")
    return run(a, serve, send, timeout_why=True)


if __name__ == "__main__":
    sys.exit(main())
