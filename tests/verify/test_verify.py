#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of `tcpao verify`, one group per meson test.

    test_verify.py GROUP --tcpao BIN --gen BIN --vectors FILE --data DIR --workdir DIR

The captures come from gen-captures (built from the RFC 9235 packets, written
into the build tree) and, for the groups cisco and linux, from tests/data
(DIR; see its PROVENANCE.md). The Cisco captures are not shipped: that group
reads them from $TCPAO_CISCO_PCAPS and skips (exit 77) without them. Every check compares the JSON output of
`tcpao verify --json` with what the capture must give.
"""
import argparse
import collections
import hashlib
import os
import random
import subprocess
import sys
import time
import json

SKIP = 77
CASES = ["4-1", "4-2", "5-1", "5-2", "6-1", "6-2", "7-1", "7-2"]
VARIANTS = ["raw.pcap", "ipvx.pcap", "ether.pcap", "vlan.pcap", "sll.pcap",
            "sll2.pcap", "null.pcap", "loop.pcap", "nsec.pcap", "ether.pcapng",
            "sll2.pcapng"]
SECRET = "testvector"


def rfc_key(case, view="client", secret=SECRET, extra=""):
    """The MKT of an RFC 9235 case, as the client or the server has it."""
    section, variant = case.split("-")
    alg = "hmac(sha1)" if section in "46" else "cmac(aes128)"
    ids = "sndid=61,rcvid=84" if view == "client" else "sndid=84,rcvid=61"
    spec = f"{ids},alg={alg},secret={secret}"
    if variant == "2":
        spec += ",exclude-options"
    return spec + extra


class Failed(Exception):
    pass


class Run:
    """One run of tcpao verify --json, parsed."""

    def __init__(self, t, capture, keys, *extra, json_out=True):
        args = [t.tcpao, "verify", capture]
        for k in keys:
            args += ["--key", k]
        args += list(extra)
        if json_out:
            args.append("--json")
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.args, self.rc, self.stdout, self.stderr = args, p.returncode, p.stdout, p.stderr
        self.segments, self.summary = [], None
        self.error = None
        if json_out:
            lines = [json.loads(line) for line in p.stdout.splitlines()]
            if lines and "error" in lines[-1] and len(lines[-1]) == 1:
                # JSON mode: an error is {"error": {"code": EXIT, "message": ...}}
                # on stdout; kept with stderr's text for the checks below
                e = lines[-1]["error"]
                if e["code"] != p.returncode or not isinstance(e["message"], str):
                    raise Failed(f"{capture}: bad error object {e} (exit {p.returncode})")
                self.error = e["message"]
                self.stderr += "tcpao verify: " + e["message"]
                return
            if not lines or "summary" not in lines[-1]:
                raise Failed(f"{capture}: no summary line:\n{p.stdout}")
            self.segments, self.summary = lines[:-1], lines[-1]["summary"]

    def results(self):
        return [s["result"] for s in self.segments]

    def field(self, name):
        return [s[name] for s in self.segments]


class Tester:
    def __init__(self, opts):
        self.tcpao, self.gen = opts.tcpao, opts.gen
        self.vectors, self.data = opts.vectors, opts.data
        self.dir = os.path.join(opts.workdir, "captures-" + opts.group)
        self.checks = 0
        self.failures = []

    def generate(self):
        os.makedirs(self.dir, exist_ok=True)
        subprocess.run([self.gen, self.vectors, self.dir], check=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def eq(self, what, got, want):
        self.checks += 1
        if got != want:
            self.failures.append(f"{what}: got {got!r}, want {want!r}")

    def true(self, what, cond):
        self.eq(what, bool(cond), True)

    def verify(self, name, keys, *extra, **kw):
        return Run(self, self.path(name) if not os.path.isabs(name) else name,
                   keys, *extra, **kw)


# ---- groups -----------------------------------------------------------------

def check_rfc_run(t, what, r, results, rc=None):
    t.eq(f"{what}: results", r.results(), results)
    if rc is not None:
        t.eq(f"{what}: exit status", r.rc, rc)


def group_linktypes(t):
    """Every case in every link type and file format: 4 good segments with
    the fields of the RFC packets; non-AO frames counted, not reported."""
    for case in CASES:
        for variant in VARIANTS:
            what = f"rfc-{case}.{variant}"
            r = t.verify(f"rfc-{case}.{variant}", [rfc_key(case)])
            check_rfc_run(t, what, r, ["good"] * 4, rc=0)
            t.eq(f"{what}: keyid", r.field("keyid"), [61, 84, 61, 84])
            t.eq(f"{what}: rnext", r.field("rnext"), [84, 61, 84, 61])
            t.eq(f"{what}: sne", r.field("sne"), [0, 0, 0, 0])
            t.eq(f"{what}: key", r.field("key"), [1, 1, 1, 1])
            t.eq(f"{what}: direction", r.field("direction"),
                 ["client", "server", "client", "server"])
            t.eq(f"{what}: flags", r.field("flags"), ["S", "S.", "P.", "P."])
            t.eq(f"{what}: dport", r.field("dport")[0], 179)
            t.eq(f"{what}: len", r.field("len"), [0, 0, 67, 67])
            t.eq(f"{what}: src", r.field("src")[0],
                 "10.11.12.13" if case[0] in "45" else "fd00::1")
            t.true(f"{what}: time", abs(r.segments[0]["time"] - 1700000000) < 1)
            s = r.summary
            t.eq(f"{what}: summary", (s["good"], s["ao-segments"], s["flows"],
                                      s["handshakes"], s["verdict"]),
                 (4, 4, 1, 1, "ok"))
            other = (2, 1, 1) if variant == "ether.pcap" else (0, 0, 0)
            t.eq(f"{what}: other traffic",
                 (s["non-ip-frames"], s["non-tcp"], s["plain"]), other)
    # The text output says the same, without secrets.
    r = t.verify("rfc-4-1.ether.pcap", [rfc_key("4-1")], json_out=False)
    t.eq("text: exit", r.rc, 0)
    t.eq("text: good lines", r.stdout.count(": good (key 1)"), 4)
    t.true("text: verdict", "verdict: ok" in r.stdout)
    t.true("text: no secret", SECRET not in r.stdout + r.stderr)
    t.true("text: secret= warned about", "warning: --key #1: secret= on a command line" in r.stderr)
    t.true("text: flow", "10.11.12.13:59863 > 172.27.28.29:179 client [S]" in r.stdout)


def group_keys(t):
    """Both endpoints' views of a key verify both directions; wrong keys
    give bad-mac or key-not-found with a reason."""
    for case in CASES:
        v4 = case[0] in "45"
        client_addr = "10.11.12.13" if v4 else "fd00::1"
        r = t.verify(f"rfc-{case}.raw.pcap", [rfc_key(case, "server")])
        check_rfc_run(t, f"{case} server view", r, ["good"] * 4, rc=0)
        r = t.verify(f"rfc-{case}.raw.pcap",
                     [rfc_key(case, "server"), rfc_key(case)])
        check_rfc_run(t, f"{case} both views", r, ["good"] * 4, rc=0)
        r = t.verify(f"rfc-{case}.raw.pcap", [rfc_key(case, extra=f",peer={client_addr}")])
        check_rfc_run(t, f"{case} peer matches", r, ["good"] * 4, rc=0)
        r = t.verify(f"rfc-{case}.raw.pcap",
                     [rfc_key(case, extra=",peer=198.18.0.0/15" if v4 else ",peer=fd01::/16")])
        check_rfc_run(t, f"{case} peer elsewhere", r, ["key-not-found"] * 4, rc=1)

        # ISNs are taken from the failed handshake, so that the data
        # segments are checked too (and fail).
        r = t.verify(f"rfc-{case}.raw.pcap", [rfc_key(case, secret="testvectoR")])
        check_rfc_run(t, f"{case} wrong secret", r, ["bad-mac"] * 4, rc=1)
        t.true(f"{case} wrong secret: reason",
               all(s["reason"] == "MAC does not match (1 candidate key)" for s in r.segments))
        t.eq(f"{case} wrong secret: key", r.field("key"), [None] * 4)
        wrong_alg = rfc_key(case).replace("hmac(sha1)", "X").replace(
            "cmac(aes128)", "hmac(sha1)").replace("X", "cmac(aes128)")
        r = t.verify(f"rfc-{case}.raw.pcap", [wrong_alg])
        check_rfc_run(t, f"{case} wrong algorithm", r, ["bad-mac"] * 4, rc=1)
        flipped = (rfc_key(case).replace(",exclude-options", "") if case.endswith("-2")
                   else rfc_key(case) + ",exclude-options")
        r = t.verify(f"rfc-{case}.raw.pcap", [flipped])
        check_rfc_run(t, f"{case} options flag flipped", r, ["bad-mac"] * 4, rc=1)
        r = t.verify(f"rfc-{case}.raw.pcap", [rfc_key(case, extra=",maclen=10")])
        check_rfc_run(t, f"{case} maclen 10", r, ["bad-mac"] * 4, rc=1)
        t.eq(f"{case} maclen 10: reason", r.segments[0]["reason"],
             "AO option of 16 bytes: no candidate key has a 12-byte MAC")
        r = t.verify(f"rfc-{case}.raw.pcap", [rfc_key(case).replace(
            "sndid=61,rcvid=84", "sndid=1,rcvid=2")])
        check_rfc_run(t, f"{case} other ids", r, ["key-not-found"] * 4, rc=1)
        t.eq(f"{case} other ids: reason", r.field("reason")[:2],
             ["no key with sndid or rcvid 61", "no key with sndid or rcvid 84"])
        # The right key among wrong ones (same ids, other secrets) still wins.
        r = t.verify(f"rfc-{case}.raw.pcap",
                     [rfc_key(case, secret="a"), rfc_key(case, "server", secret="b"),
                      rfc_key(case)])
        check_rfc_run(t, f"{case} third key", r, ["good"] * 4, rc=0)
        t.eq(f"{case} third key: key", r.field("key"), [3] * 4)
    # secret-file= as tcpao key add reads it: private files only.
    secret_file = t.path("secret.key")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret_file, 0o600)
    from_file = rfc_key("4-1").replace(f"secret={SECRET}", f"secret-file={secret_file}")
    r = t.verify("rfc-4-1.raw.pcap", [from_file])
    check_rfc_run(t, "secret-file", r, ["good"] * 4, rc=0)
    os.chmod(secret_file, 0o644)
    r = t.verify("rfc-4-1.raw.pcap", [from_file])
    t.eq("secret-file readable by others: exit", r.rc, 2)
    t.true("secret-file readable by others: message",
           "--key #1:" in r.stderr and "accessible by group or others" in r.stderr)


def group_damage(t):
    """One flipped bit: bad-mac where the MAC covers it, and nowhere else."""
    for case in CASES:
        excluded = case.endswith("-2")
        # A damaged SYN or SYN-ACK fails, but its ISN lets the rest be checked.
        r = t.verify(f"flip-{case}-syn.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} SYN bit", r, ["bad-mac", "good", "good", "good"], rc=1)
        r = t.verify(f"flip-{case}-synack.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} SYN-ACK bit", r, ["good", "bad-mac", "good", "good"], rc=1)
        # A forged SYN (another ISN) does not disturb the connection.
        r = t.verify(f"forged-syn-{case}.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} forged SYN", r, ["good", "good", "bad-mac", "good", "good"], rc=1)
        t.eq(f"{case} forged SYN: handshakes", r.summary["handshakes"], 1)
        r = t.verify(f"flip-{case}-header.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} header bit", r, ["good", "good", "bad-mac", "good"], rc=1)
        r = t.verify(f"flip-{case}-option.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} option bit", r,
                      ["good"] * 4 if excluded else ["good", "good", "bad-mac", "good"],
                      rc=0 if excluded else 1)
        r = t.verify(f"flip-{case}-mac.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} MAC bit", r, ["good", "good", "bad-mac", "good"], rc=1)
        r = t.verify(f"flip-{case}-payload.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} payload bit", r, ["good", "good", "good", "bad-mac"], rc=1)
        t.eq(f"{case} payload bit: fields", (r.segments[3]["keyid"], r.segments[3]["sne"],
                                             r.segments[3]["direction"]), (84, 0, "server"))
        # A segment without AO on the connection: counted, not a failure.
        r = t.verify(f"unsigned-{case}.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} unsigned", r, ["good"] * 4, rc=0)
        t.eq(f"{case} unsigned: count", (r.summary["unsigned"], r.summary["plain"]), (1, 0))
        # Another source address is another connection, whose ISNs are unknown.
        r = t.verify(f"flip-{case}-address.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} address bit", r, ["good", "good", "good", "no-isn"], rc=0)
        t.eq(f"{case} address bit: flows", r.summary["flows"], 2)
        t.eq(f"{case} address bit: direction", r.segments[3]["direction"], None)


def group_isn(t):
    """ISNs come from a verified SYN or SYN-ACK, never from a guess."""
    for case in CASES:
        r = t.verify(f"nosyn-{case}.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} from SYN-ACK", r, ["good"] * 3, rc=0)
        t.eq(f"{case} from SYN-ACK: direction", r.field("direction"), ["server", "client", "server"])
        r = t.verify(f"nohandshake-{case}.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} no handshake", r, ["no-isn"] * 2, rc=1)
        t.eq(f"{case} no handshake: verdict", r.summary["verdict"], "nothing-verified")
        t.eq(f"{case} no handshake: sne", r.field("sne"), [None, None])
        t.eq(f"{case} no handshake: reason", r.segments[0]["reason"],
             "ISN unknown: no handshake in the capture")
        # Given the handshake, a mid-capture start is fine unless --strict.
        r = t.verify(f"flip-{case}-address.pcap", [rfc_key(case)], "--strict")
        t.eq(f"{case} --strict with no-isn: exit", r.rc, 1)


def group_snaplen(t):
    for case in CASES:
        r = t.verify(f"snaplen-{case}.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} snaplen", r, ["good", "good", "truncated", "truncated"], rc=0)
        t.true(f"{case} snaplen: reason", r.segments[2]["reason"].startswith("captured "))
        t.eq(f"{case} snaplen: keyid", r.field("keyid"), [61, 84, 61, 84])
        r = t.verify(f"snaplen-{case}.pcap", [rfc_key(case)], "--strict")
        t.eq(f"{case} snaplen --strict: exit", r.rc, 1)
        r = t.verify(f"snaphdr-{case}.pcap", [rfc_key(case)])
        check_rfc_run(t, f"{case} snaplen in options", r, ["good", "good", "truncated", "good"], rc=0)
        t.eq(f"{case} snaplen in options: keyid", r.segments[2]["keyid"], None)
        t.eq(f"{case} snaplen in options: len", r.segments[2]["len"], None)


def group_malformed(t):
    r = t.verify("malformed-4-1.pcap", [rfc_key("4-1")])
    check_rfc_run(t, "malformed", r, ["good", "good"] + ["malformed"] * 5 + ["good"], rc=1)
    t.eq("malformed: reasons", r.field("reason")[2:7], [
        "malformed TCP options", "more than one AO option",
        "TCP-AO and TCP-MD5 options together", "bad TCP header length",
        "IP fragment (not reassembled)"])
    t.eq("malformed: fragments", r.summary["ip-fragments"], 2)


def group_sne(t):
    """Both directions cross 2^32 (the client four times), with
    retransmissions from before a wrap; SNEs as gen-captures computed them."""
    for name, case in (("sne-v4.pcap", "4-1"), ("sne-v6.pcap", "7-2")):
        r = t.verify(name, [rfc_key(case)])
        n = len(r.segments)
        t.eq(f"{name}: results", r.results(), ["good"] * n)
        t.eq(f"{name}: exit", r.rc, 0)
        with open(t.path(name + ".expect")) as f:
            want = {int(a): int(b) for a, b in (line.split() for line in f)}
        t.eq(f"{name}: sne", {s["frame"]: s["sne"] for s in r.segments}, want)
        t.eq(f"{name}: highest sne", max(want.values()), 4)
        t.eq(f"{name}: segments", n, 3 + 12 * 2 + 3)


def group_errors(t):
    key = [rfc_key("4-1")]
    r = t.verify("/nonexistent/capture.pcap", key)
    t.eq("nonexistent: exit", r.rc, 1)
    t.true("nonexistent: message", "/nonexistent/capture.pcap" in r.stderr)
    rnd = random.Random(5925)
    with open(t.path("garbage.pcap"), "wb") as f:
        f.write(bytes(rnd.randrange(256) for _ in range(4096)))
    open(t.path("empty.pcap"), "wb").close()
    for name in ("garbage.pcap", "empty.pcap"):
        r = t.verify(name, key)
        t.eq(f"{name}: exit", r.rc, 1)
        t.true(f"{name}: message", r.stderr.startswith("tcpao verify: "))
    r = t.verify("linktype-80211.pcap", key)
    t.eq("802.11: exit", r.rc, 1)
    t.true("802.11: message", "not supported" in r.stderr)
    # A capture with no frames: nothing verified.
    with open(t.path("rfc-4-1.raw.pcap"), "rb") as f:
        data = f.read()
    with open(t.path("header-only.pcap"), "wb") as f:
        f.write(data[:24])
    r = t.verify("header-only.pcap", key)
    t.eq("header only: exit", r.rc, 1)
    t.eq("header only: verdict", r.summary["verdict"], "nothing-verified")
    # The last record cut short (a killed tcpdump): what was read counts.
    with open(t.path("cut.pcap"), "wb") as f:
        f.write(data[:-5])
    r = t.verify("cut.pcap", key)
    t.eq("cut file: results", r.results(), ["good"] * 3)
    t.eq("cut file: exit", r.rc, 0)
    t.true("cut file: error", r.summary["error"] and "truncated" in r.stderr)
    # Bad keys: the parser's message, never the secret.
    for spec, msg in (("sndid=1,rcvid=2,alg=md4,secret=SUPERSECRET", "unknown algorithm"),
                      ("sndid=1,rcvid=2,alg=hmac(sha1),secret=SUPERSECRET,maclen=21",
                       "maclen"),
                      ("sndid=300,rcvid=2,alg=hmac(sha1),secret=SUPERSECRET", "0-255"),
                      ("rcvid=2,alg=hmac(sha1),secret=SUPERSECRET", "required"),
                      ("sndid=1,rcvid=2,alg=hmac(sha1),secret=hex:SUPERSECRET", "hex")):
        r = t.verify("rfc-4-1.raw.pcap", [spec])
        t.eq(f"bad key {spec}: exit", r.rc, 2)
        t.true(f"bad key {spec}: message {msg!r} in {r.stderr!r}", msg in r.stderr)
        t.true(f"bad key {spec}: no secret", "SUPERSECRET" not in r.stderr + r.stdout)
    for args, what in (([], "no key"), (["--bogus"], "unknown option")):
        r = Run(t, t.path("rfc-4-1.raw.pcap"), [], *args)
        t.eq(f"{what}: exit", r.rc, 2)
    p = subprocess.run([t.tcpao, "verify", "--key", key[0]], capture_output=True, text=True)
    t.eq("no capture: exit", p.returncode, 2)
    p = subprocess.run([t.tcpao, "frobnicate"], capture_output=True, text=True)
    t.eq("unknown command: exit", p.returncode, 2)
    p = subprocess.run([t.tcpao, "help"], capture_output=True, text=True)
    t.eq("help: exit", p.returncode, 0)
    t.true("help: lists verify", "verify" in p.stdout)
    p = subprocess.run([t.tcpao, "verify", "--help"], capture_output=True, text=True)
    t.eq("verify --help: exit", p.returncode, 0)
    # Standard input.
    with open(t.path("rfc-6-1.sll2.pcapng"), "rb") as f:
        p = subprocess.run([t.tcpao, "verify", "-", "--key", rfc_key("6-1"), "--json"],
                           stdin=f, capture_output=True, text=True)
    t.eq("stdin: exit", p.returncode, 0)
    t.eq("stdin: good", json.loads(p.stdout.splitlines()[-1])["summary"]["good"], 4)


# The Cisco captures are not in the repository (tests/data/PROVENANCE.md):
# TCPAO_CISCO_PCAPS names a directory holding them, checked by sha256.
CISCO_SHA256 = {
    "cisco.pcap": "384a650d33d8851be5a250051a35079e0c60ac4e2c5cd7589f663fc7b2d6ef14",
    "cisco2.pcap": "e0363040bf7f6bd1e4131dadd31fe42383f4cf523a0edf6169f991cb0c906864",
}


def cisco_file(t, name):
    d = os.environ.get("TCPAO_CISCO_PCAPS") or os.path.join(t.data, "cisco")
    path = os.path.join(d, name)
    if not os.path.exists(path):
        print(f"SKIP: no {path}: the Cisco captures are not shipped (license not stated, "
              "see tests/data/PROVENANCE.md); set TCPAO_CISCO_PCAPS=DIR")
        sys.exit(SKIP)
    with open(path, "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    if got != CISCO_SHA256[name]:
        raise Failed(f"{path}: sha256 {got}, not the capture of tcp-authopt-test")
    return path


def group_cisco(t):
    """Cisco IOS-XR BGP over TCP-AO (key "123", KeyID 123 both ways,
    HMAC-SHA-1-96, options excluded). Both captures start mid-connection:
    the segments before a handshake are no-isn, everything after one is
    good, nothing is bad."""
    key = ["sndid=123,rcvid=123,alg=hmac(sha1),secret=123,exclude-options"]
    # cisco.pcap: frames 1-5 end a session whose handshake is not captured
    # (port 34412), then frames 6-10 are a full handshake, an OPEN and a
    # RST (port 16745); frame 11 is IS-IS.
    r = t.verify(cisco_file(t, "cisco.pcap"), key)
    t.eq("cisco: results", r.results(), ["no-isn"] * 5 + ["good"] * 5)
    t.eq("cisco: frames", r.field("frame"), list(range(1, 11)))
    s = r.summary
    t.eq("cisco: summary", (s["good"], s["no-isn"], s["bad-mac"], s["non-ip-frames"],
                            s["handshakes"], s["flows"]), (5, 5, 0, 1, 1, 2))
    t.eq("cisco: exit", r.rc, 0)
    t.eq("cisco: keyids", set(r.field("keyid")) | set(r.field("rnext")), {123})
    # cisco2.pcap: frames 1-8 and 23 belong to a session whose handshake is
    # not captured (port 40901, 23 is its RST); two full connections
    # (ports 18358 and 27749) verify throughout.
    r = t.verify(cisco_file(t, "cisco2.pcap"), key)
    no_isn = [s["frame"] for s in r.segments if s["result"] == "no-isn"]
    t.eq("cisco2: no-isn frames", no_isn, list(range(1, 9)) + [23])
    t.true("cisco2: no-isn all on port 40901",
           all(40901 in (s["sport"], s["dport"]) for s in r.segments if s["result"] == "no-isn"))
    s = r.summary
    t.eq("cisco2: summary", (s["good"], s["no-isn"], s["bad-mac"], s["handshakes"], s["flows"]),
         (21, 9, 0, 2, 3))
    t.eq("cisco2: exit", r.rc, 0)
    r = t.verify(cisco_file(t, "cisco2.pcap"),
                 [key[0].replace("secret=123", "secret=124")])
    t.eq("cisco2 wrong secret: good", r.summary["good"], 0)
    t.eq("cisco2 wrong secret: exit", r.rc, 1)


LINUX_KEYS = [f"sndid={s},rcvid={r},alg={alg},secret=tcpao-test-key-{k}"
              for alg in ("hmac(sha1)", "cmac(aes128)", "hmac(sha256)")
              for s, r, k in ((10, 20, "A"), (11, 21, "B"))] + [
    "sndid=10,rcvid=20,alg=hmac(sha1),secret=tcpao-test-key-A,exclude-options",
    "sndid=10,rcvid=20,alg=cmac(aes128),secret=tcpao-test-key-A,maclen=16"]


# tests/data/linux/loopback.pcap as committed: its sha256 and what it holds
# (ao-segments, good, bad-mac, key-not-found, plain) with LINUX_KEYS, and the
# good segments by algorithm (sha1 + exclude-options key, cmac, sha256) with
# every key. A regenerated capture (tests/vm/linux-loopback.sh) has other
# counts: update these with it.
LINUX_PCAP_SHA256 = "43b130b1382ee0def18b2ff02b8f0dba60bce33d8e01c39e595bae5d53fcef04"
LINUX_COUNTS = (944, 936, 4, 4, 4)
LINUX_BY_ALG = (360, 312, 272)


def group_linux(t):
    """Linux 6.12's own TCP-AO over loopback, captured in our guest
    (tests/vm/linux-loopback.sh): key rotation A->B with three algorithms
    over IPv4 and IPv6, exclude-options, a 16-byte MAC, a one-sided RNext
    request; and three refused clients that must show here as bad-mac (the
    wrong secret), key-not-found (KeyID 99) and plain TCP."""
    pcap = os.path.join(t.data, "linux", "loopback.pcap")
    with open(pcap, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    r = t.verify(pcap, LINUX_KEYS)
    s = r.summary
    counts = (s["ao-segments"], s["good"], s["bad-mac"], s["key-not-found"], s["plain"])
    print(f"linux: {pcap} sha256 {sha}: ao-segments, good, bad-mac, key-not-found, plain = "
          f"{counts}")
    t.true("linux: every kind present", all(n > 0 for n in counts))
    t.eq("linux: good + refused = all", s["good"] + s["bad-mac"] + s["key-not-found"],
         s["ao-segments"])
    t.eq("linux: no-isn, malformed, unsigned", (s["no-isn"], s["malformed"], s["unsigned"]),
         (0, 0, 0))
    t.eq("linux: exit", r.rc, 1)
    bad = [x for x in r.segments if x["result"] == "bad-mac"]
    t.true("linux: bad-mac are the wrong-secret client's SYNs",
           all(x["flags"] == "S" and x["keyid"] == 10 for x in bad) and
           len({x["sport"] for x in bad}) == 1)
    t.true("linux: key-not-found are KeyID 99",
           all(x["keyid"] == 99 for x in r.segments if x["result"] == "key-not-found"))
    # With the refused clients' keys too, every segment verifies.
    keys = LINUX_KEYS + ["sndid=10,rcvid=20,alg=hmac(sha1),secret=not-the-secret",
                         "sndid=99,rcvid=98,alg=hmac(sha1),secret=tcpao-test-key-A"]
    r = t.verify(pcap, keys)
    t.eq("linux all keys: good", r.summary["good"], r.summary["ao-segments"])
    t.eq("linux all keys: exit", r.rc, 0)
    by_key = collections.Counter(x["key"] for x in r.segments)
    # Key 7 (exclude-options) also verifies any segment whose only option
    # is AO, where both ways give one MAC: so count it with hmac(sha1).
    by_alg = (by_key[1] + by_key[2] + by_key[7] + by_key[9] + by_key[10],
              by_key[3] + by_key[4] + by_key[8], by_key[5] + by_key[6])
    print(f"linux: good by algorithm (sha1, cmac, sha256) = {by_alg}")
    t.true("linux all keys: each algorithm", all(n > 0 for n in by_alg))
    t.true("linux all keys: rotation seen", by_key[2] > 0 and by_key[4] > 0 and by_key[6] > 0)
    t.true("linux all keys: exclude-options and 16-byte MAC seen", by_key[7] > 0 and by_key[8] > 0)
    # The committed file gives exactly these (a change in tcpao verify that
    # changes them is a regression or needs explaining).
    if sha == LINUX_PCAP_SHA256:
        t.eq("linux: counts of the committed capture", counts, LINUX_COUNTS)
        t.eq("linux all keys: by algorithm", by_alg, LINUX_BY_ALG)
    else:
        t.true(f"linux: {pcap} is the committed capture (sha256 {LINUX_PCAP_SHA256})", False)


def group_volume(t):
    """A long connection, at speed: every segment good."""
    n = int(os.environ.get("TCPAO_VERIFY_VOLUME", "200000"))
    path = t.path("volume.pcap")
    os.makedirs(t.dir, exist_ok=True)
    subprocess.run([t.gen, "--volume", str(n), path], check=True)
    start = time.monotonic()
    r = t.verify(path, [rfc_key("4-1")], "--quiet")
    took = time.monotonic() - start
    print(f"volume: {n} segments verified in {took:.2f} s")
    t.eq("volume: good", r.summary["good"], n)
    t.eq("volume: printed", len(r.segments), 0)
    t.eq("volume: exit", r.rc, 0)


GROUPS = {name[6:]: fn for name, fn in globals().items() if name.startswith("group_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=sorted(GROUPS))
    for opt in ("--tcpao", "--gen", "--vectors", "--data", "--workdir"):
        ap.add_argument(opt, required=True)
    opts = ap.parse_args()
    t = Tester(opts)
    if opts.group not in ("cisco", "linux", "volume"):
        t.generate()
    try:
        GROUPS[opts.group](t)
    except Failed as e:
        t.failures.append(str(e))
    for f in t.failures:
        print("FAIL:", f)
    print(f"{opts.group}: {t.checks - len(t.failures)} of {t.checks} checks passed")
    return 1 if t.failures else 0


if __name__ == "__main__":
    sys.exit(main())
