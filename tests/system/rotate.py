#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Rotates the keys of a live connection between two namespaces, N times
(tests only).

    rotate.py TCPAO_CLI NS_A ADDR_A NS_B ADDR_B PORT ROTATIONS KEYS ALGS...

Keys 1..KEYS; key n is sndid=n,rcvid=100+n on A and the mirror on B, with
secret "rotate-test-n" and algorithm ALGS[(n-1) % len(ALGS)]. Key 1 is in
use when it starts (on both daemons). Rotation i moves from key k to key
k' = k % KEYS + 1, the way an operator does it, with the tcpao CLI:

  1. tcpao key add KEY-k' on both sides;
  2. tcpao key set --rnext k' on both sides (each asks the other for k');
  3. wait until tcpao show, on both sides, has the connection on PORT
     signing with k' and announcing k' (each side's current key follows
     the RNextKeyID of the other);
  4. wait until each side has verified as many segments as the other had
     signed at step 3: every segment signed with the old key has been
     through the receiver's queue (one queue, in order), so deleting it
     cannot make one fail;
  5. tcpao key del KEY-k on both sides.

Prints the time each step took in total, and "rotations=N" at the end;
exits 1 at the first step that fails or takes longer than 10 s.
"""
import atexit
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl import records, request  # noqa: E402

CLONE_NEWNET = 0x40000000
STEP_TIMEOUT = 10.0
libc = ctypes.CDLL(None, use_errno=True)


class Namespace:
    """A named network namespace and its tcpaod (control socket)."""

    def __init__(self, name, peer):
        self.name = name
        self.peer = peer  # the other side's address: the policy's prefix
        self.fd = os.open("/run/netns/" + name, os.O_RDONLY)

    def enter(self):
        if libc.setns(self.fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns " + self.name)


class Rotator:
    def __init__(self, cli, a, b, port, nkeys, algs):
        self.cli, self.a, self.b, self.port = cli, a, b, port
        self.nkeys, self.algs = nkeys, algs
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.times = {}

    def ids(self, ns, n):
        """(sndid, rcvid) of key n as configured in ns."""
        return (n, 100 + n) if ns is self.a else (100 + n, n)

    def tcpao(self, ns, *args):
        ns.enter()
        try:
            r = subprocess.run([self.cli] + list(args), capture_output=True, text=True)
        finally:
            libc.setns(self.home, CLONE_NEWNET)
        if r.returncode:
            raise SystemExit("%s: tcpao %s: %s" % (ns.name, " ".join(args), r.stderr.strip()))

    def ctl(self, ns, line):
        ns.enter()
        try:
            body = request(None, line)
        finally:
            libc.setns(self.home, CLONE_NEWNET)
        return list(records(body))

    def flow(self, ns):
        for typ, f in self.ctl(ns, "show"):
            end = ":%d" % self.port
            if typ == "flow" and (f.get("remote", "").endswith(end) or
                                  f.get("local", "").endswith(end)):
                return f
        raise SystemExit("%s: no flow on port %d" % (ns.name, self.port))

    def counter(self, ns, name):
        for typ, f in self.ctl(ns, "stat"):
            if typ == "counter" and f.get("name") == name:
                return int(f["value"])
        raise SystemExit("%s: no counter %s" % (ns.name, name))

    def secret_file(self, n):
        """The secret of key n in a file of mode 0600: never on a command line."""
        if not hasattr(self, "secrets"):
            self.secrets = tempfile.mkdtemp(prefix="tcpao-rotate-keys-")
            atexit.register(shutil.rmtree, self.secrets, True)
        path = os.path.join(self.secrets, "key-%d" % n)
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, b"rotate-test-%d" % n)
            os.close(fd)
        return path

    def spec(self, ns, n):
        snd, rcv = self.ids(ns, n)
        return "sndid=%d,rcvid=%d,alg=%s,secret-file=%s,peer=%s/32" % (
            snd, rcv, self.algs[(n - 1) % len(self.algs)], self.secret_file(n), ns.peer)

    def wait(self, what, done):
        deadline = time.monotonic() + STEP_TIMEOUT
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit("timeout: %s" % what)
            time.sleep(0.002)

    def timed(self, step, fn, *args):
        t0 = time.monotonic()
        fn(*args)
        self.times[step] = self.times.get(step, 0.0) + time.monotonic() - t0

    def uses(self, ns, n):
        snd, rcv = self.ids(ns, n)
        f = self.flow(ns)
        return f.get("current") == str(snd) and f.get("rnext") == str(rcv)

    def caught_up(self, ns, other, signed):
        return self.counter(ns, "TCPAOGood") >= signed[other.name]

    def rotate(self, old, new):
        sides = (self.a, self.b)
        for ns in sides:
            self.timed("add", self.tcpao, ns, "key", "add", self.spec(ns, new))
        for ns in sides:
            self.timed("set", self.tcpao, ns, "key", "set", "peer=%s/32" % ns.peer,
                       "--rnext", str(self.ids(ns, new)[1]))
        self.timed("switch", self.wait, "both sides on key %d" % new,
                   lambda: all(self.uses(ns, new) for ns in sides))
        signed = {ns.name: self.counter(ns, "TCPAOSigned") for ns in sides}
        self.timed("drain", self.wait, "old-key segments verified",
                   lambda: self.caught_up(self.a, self.b, signed) and
                   self.caught_up(self.b, self.a, signed))
        for ns in sides:
            snd, rcv = self.ids(ns, old)
            self.timed("del", self.tcpao, ns, "key", "del",
                       "sndid=%d,rcvid=%d,peer=%s/32" % (snd, rcv, ns.peer))


def main(argv):
    if len(argv) < 10:
        print(__doc__, file=sys.stderr)
        return 2
    cli, na, aa, nb, ab, port, count, nkeys = argv[1:9]
    a, b = Namespace(na, ab), Namespace(nb, aa)
    r = Rotator(cli, a, b, int(port), int(nkeys), argv[9:])
    t0 = time.monotonic()
    key = 1
    for i in range(int(count)):
        new = key % r.nkeys + 1
        r.rotate(key, new)
        key = new
    total = time.monotonic() - t0
    print("time: %.1f s, %s" % (total, ", ".join(
        "%s %.1f s" % (k, v) for k, v in r.times.items())))
    print("last-key=%d" % key)
    print("rotations=%s" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
