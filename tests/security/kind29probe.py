#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What this kernel's TCP does with a kind-29 option (tests only).

    kind29probe.py serve ADDR PORT SECONDS     prints "PORT DATA" per accept
    kind29probe.py send SRC DST PORT SPORT CASE

send makes a handshake by hand (the sender's kernel must not answer: its
RSTs are dropped by the caller) and then, by CASE:
  req-ao-ack   the third ACK carries a 16-byte AO option and timestamps
               (28 bytes: the kernel, without TCP-AO, sees it)
  req-ao-data  no plain third ACK: a data segment with that option reaches
               the request socket
  est-ao-data  a plain third ACK, then a data segment with that option on
               the full socket
  est-plain    the control: a plain third ACK and plain data
"""
import socket
import sys
import time

from scapy.all import IP, TCP, Raw, conf, send, sr1

conf.verb = 0


def serve(addr, port, seconds):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    end = time.time() + seconds
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            c, peer = s.accept()
        except socket.timeout:
            break
        c.settimeout(1)
        try:
            d = c.recv(100)
        except socket.timeout:
            d = b""
        print("%d %s" % (peer[1], d.decode() or "-"), flush=True)
        c.close()


def probe(src, dst, port, sport, case):
    def seg(flags, seq, ack, opts, data=b""):
        p = IP(src=src, dst=dst) / TCP(sport=sport, dport=port, seq=seq,
                                       ack=ack, flags=flags, window=502,
                                       options=opts)
        return p / Raw(data) if data else p

    syn = seg("S", 1000, 0, [("MSS", 1400), ("SAckOK", b""),
                             ("Timestamp", (100, 0)), ("NOP", None),
                             ("WScale", 7)])
    sa = sr1(syn, timeout=3)
    if sa is None or TCP not in sa:
        sys.exit("no SYN-ACK")
    ack = sa[TCP].seq + 1
    ecr = dict(sa[TCP].options).get("Timestamp", (0, 0))[0]
    ts = [("NOP", None), ("NOP", None), ("Timestamp", (101, ecr))]
    ao = [(29, bytes([5, 5]) + b"\x5a" * 12)] + ts
    data = case.encode()
    if case == "req-ao-ack":
        send(seg("A", 1001, ack, ao))
    elif case == "req-ao-data":
        send(seg("PA", 1001, ack, ao, data))
    else:
        send(seg("A", 1001, ack, ts))
        time.sleep(0.2)
        send(seg("PA", 1001, ack, ao if case == "est-ao-data" else ts, data))
    time.sleep(0.3)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        probe(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
              sys.argv[6])
