#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux's TCP-AO socket API as a local user would use it, under
LD_PRELOAD=libtcpao-preload.so (security tests only). Prints what the
shell test checks, flushed.

    usersock.py listen ADDR PORT HOLD ID PEER...   a listener with key ID for
                                                   each PEER, HOLD seconds
    usersock.py listen-required ADDR PORT HOLD ID PEER...
                                                   the same, with ao_required
                                                   (TCP_AO_INFO)
    usersock.py echo ADDR PORT ID PEER             accepts one connection
                                                   (key ID for PEER; 0: no
                                                   key), echoes
    usersock.py talk ADDR PORT ID SECONDS          connects with key ID for
                                                   ADDR, one echoed line every
                                                   0.1 s for SECONDS
    usersock.py plain ADDR PORT                    a plain connect: "connected"
                                                   or "refused ERRNO"
    usersock.py quota ADDR PORT KEYS SOCKETS HOLD  up to SOCKETS listeners
                                                   (a key each), then up to
                                                   KEYS keys in all on them;
                                                   holds HOLD seconds
    usersock.py register ADDR PORT KEYS ID HOLD    a socket given KEYS keys
                                                   (key ID) before listen():
                                                   "listen ok" or "listen
                                                   ERRNO"; holds HOLD seconds
"""
import errno
import socket
import struct
import sys
import time

TCP_AO_ADD_KEY = 38
TCP_AO_INFO = 40
SECRET = b"user-socket-secret"


def say(*args):
    print(*args)
    sys.stdout.flush()


def ao_add(peer, keyid, prefix=None):
    """struct tcp_ao_add (see tests/system/aosock.py)."""
    fam = socket.AF_INET6 if ":" in peer else socket.AF_INET
    if fam == socket.AF_INET:
        addr = struct.pack("=H", fam) + b"\0\0" + socket.inet_pton(fam, peer)
        prefix = prefix or 32
    else:
        addr = struct.pack("=H", fam) + b"\0" * 6 + socket.inet_pton(fam, peer)
        prefix = prefix or 128
    return (addr.ljust(128, b"\0") + b"hmac(sha1)".ljust(64, b"\0") +
            struct.pack("=iIHBBBBBB", 0, 0, 0, prefix, keyid, keyid, 12, 0,
                        len(SECRET)) + SECRET.ljust(80, b"\0"))


def listener(addr, port, keyid, peers):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    for p in peers if keyid else ():  # key 0: a plain listener
        s.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(p, keyid))
    s.listen(16)
    return s


def listen(addr, port, hold, keyid, peers, required=False):
    s = listener(addr, port, int(keyid), peers)
    if required:
        # struct tcp_ao_info_opt: flags (ao_required is bit 2), reserved2,
        # current_key, rnext, five counters.
        s.setsockopt(socket.IPPROTO_TCP, TCP_AO_INFO,
                     struct.pack("=IHBB5Q", 1 << 2, 0, 0, 0, 0, 0, 0, 0, 0))
    say("listening")
    time.sleep(float(hold))
    s.close()
    return 0


def echo(addr, port, keyid, peer):
    s = listener(addr, port, int(keyid), [peer])
    say("listening")
    s.settimeout(60)
    c, _ = s.accept()
    c.settimeout(30)
    while True:
        data = c.recv(4096)
        if not data:
            break
        c.sendall(data)
    c.close()
    s.close()
    return 0


def talk(addr, port, keyid, seconds):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    if int(keyid):  # 0: no key of its own (host policy, if any)
        s.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(addr, int(keyid)))
    s.settimeout(10)
    s.connect((addr, port))
    say("connected")
    end = time.monotonic() + float(seconds)
    n = 0
    while time.monotonic() < end:
        line = b"line %d\n" % n
        s.sendall(line)
        got = b""
        while len(got) < len(line):
            more = s.recv(len(line) - len(got))
            if not more:
                say("closed after %d lines" % n)
                return 1
            got += more
        if got != line:
            say("garbled after %d lines" % n)
            return 1
        n += 1
        time.sleep(0.1)
    say("echoed %d lines" % n)
    s.close()
    return 0


def plain(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.settimeout(3)
    try:
        s.connect((addr, port))
        say("connected")
    except OSError as e:
        say("refused %s" % errno.errorcode.get(e.errno or 0, e))
    s.close()
    return 0


def quota(addr, port, keys, sockets, hold):
    """Listeners with one key each until SOCKETS or an error, then keys on
    them (400 a socket) until KEYS keys in all or an error."""
    held, err = [], "none"
    for i in range(int(sockets)):
        t = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind((addr, port + i))
            t.listen(1)
            # Its first key registers the listener with the daemon.
            t.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add("10.255.0.1", 3))
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
            t.close()
            break
        held.append(t)
    say("sockets %d error %s" % (len(held), err))
    total, err = len(held), "none"
    for i in range(1, int(keys) - len(held) + 1):
        peer = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
        try:
            # 400 a socket: the preload keeps Linux's optmem limit per
            # socket (about 500 keys), the daemon's quota is per user.
            held[i // 400].setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY,
                                      ao_add(peer, 2))
            total += 1
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
            break
    say("keys %d error %s" % (total, err))
    time.sleep(float(hold))
    return 0


def register(addr, port, keys, keyid, hold):
    """The socket's keys all go to the daemon at listen(), in one
    registration (client/sockctl.c sends them ahead of the replies)."""
    t = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, int(port)))
    for i in range(1, int(keys) + 1):
        peer = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
        t.setsockopt(socket.IPPROTO_TCP, TCP_AO_ADD_KEY, ao_add(peer, int(keyid)))
    try:
        t.listen(1)
        say("listen ok")
    except OSError as e:
        say("listen %s" % errno.errorcode.get(e.errno, str(e.errno)))
    time.sleep(float(hold))
    return 0


def main(argv):
    cmds = {"listen": (listen, 5), "listen-required": (listen, 5), "echo": (echo, 4), "talk": (talk, 4),
            "plain": (plain, 2), "quota": (quota, 5), "register": (register, 5)}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    fn, n = cmds[argv[1]]
    args = argv[2:]
    if argv[1] in ("listen", "listen-required"):
        return listen(args[0], int(args[1]), args[2], args[3], args[4:],
                      argv[1] == "listen-required")
    if len(args) != n:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] in ("echo", "talk", "plain", "quota"):
        args[1] = int(args[1])
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
