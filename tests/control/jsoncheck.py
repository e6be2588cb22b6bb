#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks one output of `tcpao ... --json` read from stdin: valid JSON, no
duplicate keys in any object, member names in kebab-case (issue 9), and the
types of each known field. Usage: jsoncheck.py KIND [EXIT-STATUS]; KIND is
key-list, show, stat, reload, ok, error, version or verify (JSON lines).
Exits 1 with a message on the first problem."""
import json
import re
import sys

NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
INT, STR, BOOL, KEYID = "int", "str", "bool", "keyid"

TYPES = {
    "peer": {"peer": STR, "local": STR, "local-port": INT, "remote-port": INT,
             "ao-required": BOOL, "accept-icmps": BOOL, "current": KEYID,
             "rnext": KEYID, "origin": STR, "uid": INT, "cookie": INT,
             "current-age": INT, "keys": list},
    "key": {"peer": STR, "sndid": INT, "rcvid": INT, "alg": STR, "maclen": INT,
            "exclude-options": BOOL, "current": BOOL, "rnext": BOOL,
            "serial": INT, "origin": STR},
    "flow": {"local": STR, "remote": STR, "state": STR, "current": KEYID,
             "rnext": KEYID, "peer-rnext": KEYID, "snd-sne": INT, "rcv-sne": INT,
             "good": INT, "bad": INT, "key-not-found": INT, "ao-required": INT,
             "dropped-icmps": INT, "worker": INT},
    "change": {"action": STR, "peer": STR, "sndid": INT, "rcvid": INT, "origin": STR},
    "summary": {"add": INT, "change": INT, "drop": INT, "clash": INT,
                "live-flows-losing-keys": INT, "applied": BOOL},
}


def fail(msg):
    print(f"jsoncheck: {msg}", file=sys.stderr)
    sys.exit(1)


def no_dups(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            fail(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_type(where, name, value, want):
    ok = {INT: is_int, STR: lambda v: isinstance(v, str),
          BOOL: lambda v: isinstance(v, bool),
          KEYID: lambda v: v is None or (is_int(v) and 0 <= v <= 255),
          list: lambda v: isinstance(v, list)}[want](value)
    if not ok:
        fail(f"{where}: {name} = {value!r} is not {want if isinstance(want, str) else 'a list'}")


def check_record(where, rec, kind):
    if not isinstance(rec, dict):
        fail(f"{where}: not an object")
    for name, value in rec.items():
        if not NAME.match(name):
            fail(f"{where}: member {name!r} is not kebab-case")
        if name in TYPES[kind]:
            check_type(where, name, value, TYPES[kind][name])
        elif not isinstance(value, str):
            fail(f"{where}: unknown member {name!r} is not a string")


def names(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not NAME.match(k):
                fail(f"member {k!r} is not kebab-case")
            names(v)
    elif isinstance(obj, list):
        for v in obj:
            names(v)


def main():
    kind = sys.argv[1]
    status = int(sys.argv[2]) if len(sys.argv) > 2 else None
    text = sys.stdin.read()
    docs = [json.loads(line, object_pairs_hook=no_dups) for line in text.splitlines()
            if line.strip()] if kind == "verify" else [json.loads(text, object_pairs_hook=no_dups)]
    if not docs:
        fail("no output")
    d = docs[0]
    if kind == "error":
        if set(d) != {"error"} or set(d["error"]) != {"code", "message"}:
            fail(f"not an error object: {d}")
        if not is_int(d["error"]["code"]) or not isinstance(d["error"]["message"], str):
            fail(f"error types: {d}")
        if status is not None and d["error"]["code"] != status:
            fail(f"error code {d['error']['code']}, exit status {status}")
    elif kind == "ok":
        if d != {"ok": True}:
            fail(f"not {{\"ok\": true}}: {d}")
    elif kind == "version":
        names(d)
        if set(d) != {"version", "git-describe"} or not all(isinstance(v, str) for v in d.values()):
            fail(f"version: {d}")
    elif kind == "stat":
        # member names are Linux's counter names (data, not fields)
        if not d or not all(is_int(v) and v >= 0 for v in d.values()):
            fail(f"stat: {d}")
        if "TCPAOGood" not in d:
            fail("stat: no TCPAOGood")
    elif kind == "key-list":
        names(d)
        for i, p in enumerate(d["peers"]):
            check_record(f"peers[{i}]", p, "peer")
            for j, k in enumerate(p["keys"]):
                check_record(f"peers[{i}].keys[{j}]", k, "key")
    elif kind == "show":
        names(d)
        for i, f in enumerate(d["flows"]):
            check_record(f"flows[{i}]", f, "flow")
    elif kind == "reload":
        names(d)
        for i, c in enumerate(d["changes"]):
            check_record(f"changes[{i}]", c, "change")
        check_record("summary", d["summary"], "summary")
    elif kind == "verify":
        for i, o in enumerate(docs):
            names(o)
            if "summary" in o:
                if i != len(docs) - 1:
                    fail("summary before the end")
                for k, v in o["summary"].items():
                    if k not in ("verdict", "error") and not is_int(v):
                        fail(f"summary {k} = {v!r}")
            else:
                for k in ("frame", "sport", "dport", "seq", "ack"):
                    check_type(f"line {i}", k, o[k], INT)
                for k in ("src", "dst", "flags", "result", "reason"):
                    check_type(f"line {i}", k, o[k], STR)
    else:
        fail(f"unknown kind {kind}")
    print(json.dumps(d, sort_keys=True)[:2000])


main()
