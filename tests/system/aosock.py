#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux's TCP-AO socket API from Python, run under LD_PRELOAD=libtcpao-preload.so
(tests only). Each command prints what the shell test checks.

    aosock.py gone ADDR PORT PEER      a listener with a key for PEER, closed:
                                       its entry must leave tcpaod by itself
    aosock.py tw ADDR PORT PEER        accepts one connection from PEER with a
                                       key, closes the listener, echoes 1000
                                       bytes (printing its TCP_AO_INFO once
                                       they are in), closes first (TIME-WAIT
                                       here)
    aosock.py client ADDR PORT         sends 1000 bytes, reads them back until
                                       the server closes, closes
"""
import ctypes
import socket
import struct
import subprocess
import sys
import time

TCP_AO_ADD_KEY = 38
TCP_AO_INFO = 40
SECRET = b"sockets-test"
CTL = [sys.executable, __file__.replace("aosock.py", "ctl.py"), "raw", "key-list"]


def ao_add(peer):
    """struct tcp_ao_add: sockaddr_storage, alg_name[64], ifindex, flags,
    reserved2, prefix, sndid, rcvid, maclen, keyflags, keylen, key[80]."""
    fam = socket.AF_INET6 if ":" in peer else socket.AF_INET
    if fam == socket.AF_INET:
        addr = struct.pack("=H", fam) + b"\0\0" + socket.inet_pton(fam, peer)
        prefix = 32
    else:
        addr = struct.pack("=H", fam) + b"\0" * 6 + socket.inet_pton(fam, peer)
        prefix = 128
    return (addr.ljust(128, b"\0") + b"hmac(sha1)".ljust(64, b"\0") +
            struct.pack("=iIHBBBBBB", 0, 0, 0, prefix, 1, 1, 12, 0, len(SECRET)) +
            SECRET.ljust(80, b"\0"))


def ao_info(sock):
    """getsockopt(TCP_AO_INFO) with the zeroed input Linux requires (Python's
    own getsockopt hands it an uninitialized buffer): struct tcp_ao_info_opt
    as (flags, reserved2, current_key, rnext, pkt_good, pkt_bad, ...)."""
    buf = ctypes.create_string_buffer(48)
    n = ctypes.c_uint(48)
    libc = ctypes.CDLL(None, use_errno=True)  # the preload's getsockopt
    if libc.getsockopt(sock.fileno(), socket.IPPROTO_TCP, TCP_AO_INFO, buf,
                       ctypes.byref(n)):
        raise OSError(ctypes.get_errno(), "TCP_AO_INFO")
    return struct.unpack("=IHBBQQQQQ", buf.raw)


def socket_entries(port):
    """The daemon's entries owned by a socket on this local port."""
    out = subprocess.run(CTL, capture_output=True, text=True).stdout
    return [l for l in out.splitlines()
            if l.startswith("peer ") and "origin=socket" in l and
            ("local-port=%d " % port) in l + " "]


def listener(addr, port, peer):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(peer))
    s.listen(4)
    return s


def wait_gone(port, seconds):
    end = time.monotonic() + seconds
    while socket_entries(port):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def gone(addr, port, peer):
    s = listener(addr, port, peer)
    print("registered %d" % len(socket_entries(port)))
    t0 = time.monotonic()
    s.close()
    # No other request reaches the daemon meanwhile: only sock_diag's
    # destroy notification can tell it.
    ok = wait_gone(port, 2.0)
    print("forgotten %s after %.2f s" % ("yes" if ok else "no", time.monotonic() - t0))
    sys.stdout.flush()
    return 0


def tw(addr, port, peer):
    s = listener(addr, port, peer)
    print("listening")
    sys.stdout.flush()
    s.settimeout(10)
    c, _ = s.accept()
    s.close()
    c.settimeout(10)
    data = b""
    while len(data) < 1000:
        more = c.recv(1000 - len(data))
        if not more:
            break
        data += more
    info = ao_info(c)
    print("info good %d bad %d current %d" % (info[4], info[5], info[2]))
    c.sendall(data)
    c.close()  # first: this side goes to TIME-WAIT once the peer closes
    time.sleep(1.0)
    print("after close %d" % len(socket_entries(port)))
    sys.stdout.flush()
    return 0


def client(addr, port):
    s = socket.create_connection((addr, port), timeout=10)
    s.sendall(bytes(range(250)) * 4)
    got = 0
    while True:
        more = s.recv(4096)
        if not more:
            break
        got += len(more)
    s.close()
    print("echoed %d" % got)
    return 0 if got == 1000 else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "client":
        return client(argv[2], int(argv[3]))
    if len(argv) != 5 or argv[1] not in ("gone", "tw"):
        print(__doc__, file=sys.stderr)
        return 2
    fn = gone if argv[1] == "gone" else tw
    return fn(argv[2], int(argv[3]), argv[4])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
