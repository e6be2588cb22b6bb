#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Talks to tcpaod's control socket (tests only; the CLI is `tcpao`).

    ctl.py [--name PATH] stat              -> "NAME VALUE" lines
    ctl.py [--name PATH] show              -> one line per flow record
    ctl.py [--name PATH] raw REQUEST...    -> the reply as it came
PATH defaults to $TCPAO_CTL, else $TCPAO_RUNDIR (/run/tcpao)/netns-<cookie>.sock.
Like the real clients, it authenticates the daemon before sending: the
socket's directory must be root's alone and the listener must be root.
Exit status 0 when the daemon answered "ok", 1 on an error reply, 2 when
no daemon answers (or it is not root's).
"""
import os
import socket
import stat
import struct
import sys

SO_NETNS_COOKIE = 71


def default_path():
    env = os.environ.get("TCPAO_CTL")
    if env:
        return env
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        cookie = struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
    return "%s/netns-%d.sock" % (os.environ.get("TCPAO_RUNDIR", "/run/tcpao"), cookie)


def check_dir(path):
    st = os.lstat(os.path.dirname(path) or ".")
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise PermissionError("%s: directory not root's alone" % path)


def check_server(s, path):
    cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    if struct.unpack("3i", cred)[1] != 0:
        raise PermissionError("%s: listener is not root" % path)


def request(name, line, timeout=5.0):
    name = name or default_path()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    check_dir(name)
    s.connect(name)
    check_server(s, name)
    s.send(line.encode())
    body = b""
    while True:
        frame = s.recv(65536)
        if not frame:
            break
        body += frame[1:]
        if frame[:1] == b".":
            break
    s.close()
    return body.decode()


def records(body):
    for line in body.splitlines()[1:]:
        if not line:
            continue
        parts = line.split(" ")
        fields = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                fields[k] = v
        yield parts[0], fields


def main(argv):
    name = None
    if len(argv) > 2 and argv[1] == "--name":
        name = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    line = " ".join(argv[2:]) if cmd == "raw" else cmd
    try:
        body = request(name, line)
    except OSError as e:
        print("no daemon: %s" % e, file=sys.stderr)
        return 2
    status = body.splitlines()[0] if body else "error"
    if cmd == "raw":
        sys.stdout.write(body)
    elif cmd == "stat":
        for typ, f in records(body):
            if typ == "counter":
                print(f.get("name"), f.get("value"))
    else:
        for line in body.splitlines()[1:]:
            if line:
                print(line)
    if not status.startswith("ok"):
        print(status, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
