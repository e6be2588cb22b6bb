#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Talks to tcpaod's control socket (tests only; the CLI is `tcpao`).

    ctl.py [--name NAME] stat              -> "NAME VALUE" lines
    ctl.py [--name NAME] show              -> one line per flow record
    ctl.py [--name NAME] raw REQUEST...    -> the reply as it came
Exit status 0 when the daemon answered "ok", 1 on an error reply, 2 when
no daemon answers.
"""
import socket
import sys


def request(name, line, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    s.connect("\0" + name)
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
    name = "tcpao/ctl"
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
