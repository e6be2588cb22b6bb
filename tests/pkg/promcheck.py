#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks Prometheus' text exposition format (what promtool check metrics
checks that matters here) and prints "name{labels} value" per sample.

    promcheck.py FILE    exit 1 with the reason on a malformed line
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$" % (NAME, LABEL, LABEL))


def main(path):
    helps, types, seen_samples = set(), {}, set()
    current = None
    for n, line in enumerate(open(path), 1):
        line = line.rstrip("\n")
        m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % NAME, line)
        if m:
            kind, name, rest = m.groups()
            if kind == "HELP":
                if name in helps:
                    sys.exit("%s:%d: second HELP for %s" % (path, n, name))
                helps.add(name)
            else:
                if name in types:
                    sys.exit("%s:%d: second TYPE for %s" % (path, n, name))
                if rest not in ("counter", "gauge", "untyped", "histogram", "summary"):
                    sys.exit("%s:%d: bad type %s" % (path, n, rest))
                types[name] = rest
                current = name
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit("%s:%d: not a sample: %r" % (path, n, line))
        name = m.group(1)
        if name != current:
            sys.exit("%s:%d: %s outside its family (TYPE first, samples together)" % (path, n, name))
        if types[name] == "counter" and not name.endswith("_total"):
            sys.exit("%s:%d: counter %s without _total" % (path, n, name))
        key = name + (m.group(2) or "")
        if key in seen_samples:
            sys.exit("%s:%d: duplicate series %s" % (path, n, key))
        seen_samples.add(key)
        print(line)
    if helps != set(types):
        sys.exit("%s: HELP and TYPE differ: %s" % (path, helps ^ set(types)))


if __name__ == "__main__":
    main(sys.argv[1])
