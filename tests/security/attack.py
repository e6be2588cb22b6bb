#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The local attacker of the security tests (run as nobody; never checks
who listens, as an attacker would not).

    attack.py squat LOG NAME...   bind NAME (@abstract or a path), listen,
                                  log every byte and descriptor received
    attack.py raw REQUEST...      one request to the daemon, print the reply
    attack.py emptyfd N           N connections, each sending an empty
                                  message carrying a descriptor
    attack.py setuid HELPER REQUEST...
                                  connect, then exec the setuid-root HELPER
                                  (blocked on its stdin) while a child that
                                  shares the connection sends REQUEST once
                                  the daemon accepts: the pid that connected
                                  now runs as euid 0 with every capability
    attack.py hold N SECONDS      hold N connections; print how many the
                                  daemon answered (ping), then, after
                                  SECONDS, how many it has closed since
The daemon's socket: $TCPAO_CTL, else the namespace's path under
$TCPAO_RUNDIR (/run/tcpao), else the old abstract name @tcpao/ctl.
"""
import array
import os
import socket
import struct
import sys
import time

SO_NETNS_COOKIE = 71


def target():
    if os.environ.get("TCPAO_CTL"):
        return os.environ["TCPAO_CTL"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        cookie = struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
    path = "%s/netns-%d.sock" % (os.environ.get("TCPAO_RUNDIR", "/run/tcpao"), cookie)
    return path if os.path.exists(path) else "\0tcpao/ctl"


def connect(timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(timeout)
        try:
            s.connect(target())
            return s
        except BlockingIOError:  # the listen backlog is full: wait
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def reply(s):
    body = b""
    while True:
        frame = s.recv(65536)
        if not frame:
            return body.decode(errors="replace") or "(closed)"
        body += frame[1:]
        if frame[:1] == b".":
            return body.decode(errors="replace")


def squat(log, names):
    socks = []
    for n in names:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        addr = "\0" + n[1:] if n.startswith("@") else n
        try:
            s.bind(addr)
            if not n.startswith("@"):
                os.chmod(n, 0o666)
            s.listen(16)
            socks.append(s)
            print("squatting %s" % n, flush=True)
        except OSError as e:
            print("cannot squat %s: %s" % (n, e), flush=True)
    # The old lock name, a datagram socket.
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        d.bind("\0tcpaod/lock")
        print("squatting @tcpaod/lock", flush=True)
    except OSError as e:
        print("cannot squat @tcpaod/lock: %s" % e, flush=True)
    print("ready", flush=True)
    with open(log, "ab", buffering=0) as out:
        while True:
            for s in socks:
                s.settimeout(0.05)
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                c.settimeout(2)
                try:
                    msg, anc, _, _ = c.recvmsg(8192, socket.CMSG_SPACE(64))
                except OSError:
                    msg, anc = b"", []
                fds = sum(len(d) // 4 for lvl, typ, d in anc if typ == socket.SCM_RIGHTS)
                out.write(b"GOT %d bytes %d fds: %s\n" % (len(msg), fds, msg))
                c.close()


def raw(words):
    s = connect()
    s.send(" ".join(words).encode())
    print(reply(s))


def emptyfd(n):
    null = os.open("/dev/null", os.O_RDONLY)
    sent = 0
    # On a loaded host the daemon may not have seen the last closes yet:
    # past the per-uid quota it closes a new connection at once (EPIPE).
    # Each of the n messages is sent again until it goes, 10 s at most.
    deadline = time.monotonic() + 10
    while sent < n and time.monotonic() < deadline:
        s = connect()
        try:
            s.sendmsg([b""], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [null]))])
            sent += 1
        except (BrokenPipeError, ConnectionResetError):
            time.sleep(0.01)
        s.close()
    if sent < n:
        raise SystemExit("only %d of %d messages sent" % (sent, n))
    # One more request answered: the daemon has handled all of the above
    # (and the attacker's closed connections left its quota).
    for _ in range(100):
        try:
            s = connect()
            s.send(b"ping")
            if reply(s).startswith("ok"):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the daemon does not answer")


def setuid(helper, words):
    s = connect(timeout=10)
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)  # w stays open: the helper blocks reading its stdin
        time.sleep(1.0)  # the parent has exec'd the helper
        print("ready", flush=True)
        s.send(" ".join(words).encode())
        print(reply(s), flush=True)
        os._exit(0)
    os.close(w)
    os.dup2(r, 0)
    os.execv(helper, [helper, "nobody"])


def hold(n, seconds):
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(timeout=2))
        except OSError:
            pass
    served = 0
    for s in socks:
        try:
            s.send(b"ping")
            served += reply(s).startswith("ok")
        except OSError:
            pass
    print("served %d of %d" % (served, n), flush=True)
    if seconds <= 0:
        return
    time.sleep(seconds)
    closed = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            closed += s.recv(16) == b""
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    print("closed %d" % closed, flush=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "squat":
        squat(argv[2], argv[3:])
    elif cmd == "raw":
        raw(argv[2:])
    elif cmd == "emptyfd":
        emptyfd(int(argv[2]))
    elif cmd == "setuid":
        setuid(argv[2], argv[3:])
    elif cmd == "hold":
        hold(int(argv[2]), float(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
