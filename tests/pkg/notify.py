#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The service manager's protocols, without systemd (PID 1 here is not):

- sd_notify: we are the manager. A unix datagram socket named by
  NOTIFY_SOCKET; tcpaod must send READY=1 only once its control socket
  answers (`tcpao stat` works at that instant), RELOADING=1 then READY=1
  on SIGHUP, STOPPING=1 on SIGTERM, and exit 0.
- the journal: JOURNAL_STREAM names tcpaod's stderr (a file here), so its
  lines must read "<N>message", without a timestamp of their own.

Runs tcpaod in a network namespace of its own (root). Exit 77: skipped.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TCPAOD = os.environ.get("TCPAOD", "")
CLI = os.environ.get("TCPAO_CLI", "")
failed = []


def fail(msg):
    print("FAIL:", msg)
    failed.append(msg)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return 77
    if not os.access(TCPAOD, os.X_OK) or not os.access(CLI, os.X_OK):
        print("SKIP: TCPAOD / TCPAO_CLI not set")
        return 77
    ns = "tcpao-notify-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="tcpao-notify-")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    proc = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        sock_path = os.path.join(tmp, "notify.sock")
        mgr = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        mgr.bind(sock_path)
        mgr.settimeout(0.1)
        log_path = os.path.join(tmp, "tcpaod.log")
        log = open(log_path, "wb")
        st = os.fstat(log.fileno())
        env = dict(os.environ, NOTIFY_SOCKET=sock_path,
                   JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        key = "sndid=1,rcvid=1,alg=hmac(sha1),secret=notify-test,peer=198.18.0.2/32"
        conf = os.path.join(tmp, "tcpao.conf")
        with open(conf, "w") as f:
            f.write("peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret notify-test;\n}\n")
        os.chmod(conf, 0o600)
        start = time.monotonic()
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, TCPAOD, "--config", conf,
             "--state-dir", os.path.join(tmp, "state")],
            stdout=log, stderr=log, env=env)
        os.mkdir(os.path.join(tmp, "state"))

        def wait_for(want, limit=10.0):
            seen = []
            end = time.monotonic() + limit
            while time.monotonic() < end:
                try:
                    msg = mgr.recv(4096).decode()
                except socket.timeout:
                    if proc.poll() is not None:
                        break
                    continue
                seen.append(msg)
                if want in msg.split("\n"):
                    return seen
            fail("no %s (got %r, daemon status %r)" % (want, seen, proc.poll()))
            return None

        def answers():
            r = subprocess.run(["ip", "netns", "exec", ns, CLI, "stat"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return r.returncode == 0

        # READY=1 only once the control socket answers and the rules are in.
        if wait_for("READY=1") is not None:
            print("READY=1 after %.2f s" % (time.monotonic() - start))
            if not answers():
                fail("READY=1 sent before the control socket answers")
            rules = subprocess.run(["ip", "netns", "exec", ns, "iptables-save"],
                                   capture_output=True, text=True).stdout
            if "tcpao" not in rules:
                fail("READY=1 sent before the rules are in place")
        # SIGHUP: RELOADING=1, then READY=1 again.
        proc.send_signal(signal.SIGHUP)
        seen = wait_for("RELOADING=1")
        if seen is not None:
            wait_for("READY=1")
            print("SIGHUP: RELOADING=1, READY=1")
        # SIGTERM: STOPPING=1, exit 0.
        proc.send_signal(signal.SIGTERM)
        if wait_for("STOPPING=1") is not None:
            print("SIGTERM: STOPPING=1")
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        if rc != 0:
            fail("tcpaod exit status %r after SIGTERM" % rc)
        proc = None
        log.close()
        # The journal's format: "<N>text", no timestamp of our own.
        lines = open(log_path, errors="replace").read().splitlines()
        print("log:", *lines[:4], sep="\n  ")
        if not lines:
            fail("tcpaod logged nothing")
        for line in lines:
            if not re.match(r"^<[0-7]>\S", line) or re.match(r"^<\d>\d+\.\d{3} ", line):
                fail("not a journal line: %r" % line)
                break
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        # A fail-closed stop leaves rules and the BPF guard, whose pin holds
        # the namespace: uninstall them first (tcpaod --remove-rules, where
        # this tcpaod has it), then delete the namespace.
        subprocess.run(["ip", "netns", "exec", ns, TCPAOD, "--remove-rules"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", ns])
        if not failed:
            subprocess.run(["rm", "-rf", tmp])
        else:
            print("kept", tmp)
    if failed:
        return 1
    print("PASS: notify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
