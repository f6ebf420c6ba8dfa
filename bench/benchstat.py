#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Statistics and verdicts for every benchmark in bench/ (one method).

A benchmark measures the two sides of a ratio, A and B, in alternating
short blocks (rounds) within one run, discards its warm-up and prints one
line per round; this module turns those lines into figures and verdicts so
that no benchmark computes them itself.  Lines it reads (anywhere in its
input, after an optional "bench: " prefix; everything else passes through):

  @measure ID op=<=|>=|none target=T unit=U [a=LABEL] [b=LABEL] [bound=X] name=TEXT...
  @round ID A B       one round: A and B measured side by side, ratio A/B
  @value ID V         one round of a measure that is not a ratio (bytes, ms)
  @note TEXT          printed under the table

For a ratio, each round gives A/B and the figure is the median of those
per-round ratios, with their min and max; A and B are also summarised
(medians).  The verdict:

  met/MISSED  when every round is on the same side of the target, the
            verdict of that side, however wide the spread
  UNSTABLE  the rounds straddle the target and their spread (max - min)
            is wider than the distance from the median to the target:
            this run cannot tell met from missed;
            or the median is beyond bound= (a figure the thing measured
            cannot reach, e.g. a 2-thread speed-up above 2: the machine,
            not the code, made it)
  met       otherwise, when the median is on the right side of the target
  MISSED    otherwise
  short     BENCH_SHORT=1 (CI): too few rounds to judge, never a verdict
  -         the measure has no target
  NO DATA   no round was measured (the benchmark broke)

Usage:
  benchstat.py table BENCH [--rounds-min N]   filter stdin, print the table
      and append one JSON object per measure to $BENCH_RESULTS if set
  benchstat.py selftest                        check the arithmetic
"""
import json
import os
import shlex
import sys

MIN_ROUNDS = 7


def median(v):
    s = sorted(v)
    n = len(s)
    if not n:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def verdict(med, lo, hi, op, target, n, short=False, min_rounds=MIN_ROUNDS, bound=None):
    """(verdict, why) for a median with its min/max over n rounds."""
    if n == 0:
        return "NO DATA", "no rounds were measured"
    if op == "none" or target is None:
        return "-", ""
    if short:
        return "short", "short mode: %d round(s), not judged" % n
    if n < min_rounds:
        return "UNSTABLE", "only %d rounds (at least %d needed)" % (n, min_rounds)
    if bound is not None and (med > bound if op == ">=" else med < bound):
        return "UNSTABLE", "median %s beyond what is possible (%s): the host, not the code" % (
            fmt(med), fmt(bound))
    # Every round on one side: that side, whatever the spread.
    if (hi <= target if op == "<=" else lo >= target):
        return "met", ""
    if (lo > target if op == "<=" else hi < target):
        return "MISSED", ""
    spread = hi - lo
    dist = abs(med - target)
    if spread > dist:
        return "UNSTABLE", ("spread %s > distance %s to the target"
                            % (fmt(spread), fmt(dist)))
    ok = med <= target if op == "<=" else med >= target
    return ("met" if ok else "MISSED"), ""


def fmt(x):
    if x != x:
        return "nan"
    a = abs(x)
    if a >= 1000:
        return "%.0f" % x
    if a >= 100:
        return "%.1f" % x
    if a >= 10:
        return "%.2f" % x
    return "%.3f" % x


class Measure:
    def __init__(self, mid, attrs):
        self.id = mid
        self.name = attrs.get("name", mid)
        self.op = attrs.get("op", "none")
        t = attrs.get("target")
        self.target = float(t) if t not in (None, "", "none") else None
        self.unit = attrs.get("unit", "")
        self.a = attrs.get("a", "A")
        self.b = attrs.get("b", "B")
        bd = attrs.get("bound")
        self.bound = float(bd) if bd else None
        self.rounds = []        # (A, B) pairs or (V,) values
        self.kind = None

    def add(self, vals):
        kind = "ratio" if len(vals) == 2 else "value"
        if self.kind and self.kind != kind:
            raise ValueError("%s: mixes @round and @value" % self.id)
        self.kind = kind
        self.rounds.append(vals)

    def summary(self, short):
        if self.kind == "ratio":
            vals = [a / b for a, b in self.rounds if b]
        else:
            vals = [r[0] for r in self.rounds]
        med = median(vals)
        lo = min(vals) if vals else float("nan")
        hi = max(vals) if vals else float("nan")
        v, why = verdict(med, lo, hi, self.op, self.target, len(vals), short,
                         bound=self.bound)
        d = {"id": self.id, "name": self.name, "kind": self.kind or "value",
             "unit": self.unit, "op": self.op, "target": self.target,
             "rounds": len(vals), "median": med, "min": lo, "max": hi,
             "values": vals, "verdict": v, "why": why}
        if self.kind == "ratio":
            d["a_label"], d["b_label"] = self.a, self.b
            d["a_median"] = median([r[0] for r in self.rounds])
            d["b_median"] = median([r[1] for r in self.rounds])
        return d


def parse_attrs(text):
    """k=v pairs; name= takes the rest of the line."""
    attrs = {}
    head, sep, name = text.partition(" name=")
    if sep:
        attrs["name"] = name.strip()
    elif text.startswith("name="):
        attrs["name"] = text[5:].strip()
        head = ""
    for tok in shlex.split(head):
        k, _, v = tok.partition("=")
        attrs[k] = v
    return attrs


def table(bench, lines, out=sys.stdout, short=None):
    if short is None:
        short = os.environ.get("BENCH_SHORT", "") not in ("", "0")
    measures = {}
    order = []
    notes = []
    for raw in lines:
        line = raw.rstrip("\n")
        s = line[7:] if line.startswith("bench: ") else line
        s = s.lstrip()
        if not s.startswith("@"):
            out.write(line + "\n")
            out.flush()
            continue
        word, _, rest = s.partition(" ")
        if word == "@measure":
            mid, _, attrs = rest.partition(" ")
            if mid not in measures:
                order.append(mid)
            measures[mid] = Measure(mid, parse_attrs(attrs))
        elif word in ("@round", "@value"):
            f = rest.split()
            if f and f[0] in measures:
                measures[f[0]].add(tuple(float(x) for x in f[1:3 if word == "@round" else 2]))
        elif word == "@note":
            notes.append(rest)
        # other @ lines (host-side sync marks) are dropped
    res = [measures[m].summary(short) for m in order]
    print_table(bench, res, notes, out)
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a") as f:
            for r in res:
                r = {k: (None if isinstance(v, float) and v != v else v)
                     for k, v in dict(r, bench=bench).items()}
                f.write(json.dumps(r) + "\n")
            for n in notes:
                f.write(json.dumps({"bench": bench, "note": n}) + "\n")
    return res


def target_text(r):
    if r["op"] == "none" or r["target"] is None:
        return "-"
    return "%s %s" % (r["op"], fmt(r["target"]))


def print_table(bench, res, notes, out):
    if not res:
        out.write("%s: no measures\n" % bench)
        return
    rows = []
    for r in res:
        unit = "" if r["kind"] == "ratio" else " " + r["unit"]
        rows.append((r["name"], fmt(r["median"]) + unit,
                     "%s - %s (%d)" % (fmt(r["min"]), fmt(r["max"]), r["rounds"]),
                     target_text(r), r["verdict"] + ("  (%s)" % r["why"] if r["why"] else "")))
    head = ("measure (%s)" % bench, "median", "min - max (rounds)", "target", "verdict")
    w = [max(len(x[i]) for x in rows + [head]) for i in range(4)]
    line = "%%-%ds  %%-%ds  %%-%ds  %%-%ds  %%s\n" % tuple(w)
    out.write(line % head)
    for r, row in zip(res, rows):
        out.write(line % row)
        if r["kind"] == "ratio":
            out.write("%s    %s %s %s, %s %s %s (medians)\n" % (
                " " * w[0], r["a_label"], fmt(r["a_median"]), r["unit"],
                r["b_label"], fmt(r["b_median"]), r["unit"]))
    for n in notes:
        out.write("  %s\n" % n)
    out.flush()


def selftest():
    assert median([3, 1, 2]) == 2 and median([4, 1, 3, 2]) == 2.5
    assert verdict(1.00, 0.98, 1.02, "<=", 1.10, 9)[0] == "met"
    assert verdict(1.20, 1.18, 1.22, "<=", 1.10, 9)[0] == "MISSED"
    assert verdict(1.09, 1.05, 1.12, "<=", 1.10, 9)[0] == "UNSTABLE"
    assert verdict(1.90, 1.85, 1.95, ">=", 1.80, 9)[0] == "met"
    assert verdict(1.70, 1.50, 1.95, ">=", 1.80, 9)[0] == "UNSTABLE"
    # all rounds on one side: a verdict, however wide the spread
    assert verdict(67.8, 59.7, 121.3, ">=", 10, 9)[0] == "met"
    assert verdict(1.00, 0.50, 1.05, "<=", 1.10, 9)[0] == "met"
    assert verdict(1.50, 1.11, 2.50, "<=", 1.10, 9)[0] == "MISSED"
    assert verdict(0.30, 0.10, 0.49, ">=", 0.50, 9)[0] == "MISSED"
    assert verdict(1.00, 0.99, 1.01, "<=", 1.10, 3)[0] == "UNSTABLE"
    assert verdict(1.00, 0.99, 1.01, "<=", 1.10, 3, short=True)[0] == "short"
    assert verdict(5, 5, 5, "none", None, 9)[0] == "-"
    assert verdict(2.3, 2.25, 2.35, ">=", 1.8, 9, bound=2)[0] == "UNSTABLE"
    assert verdict(1.9, 1.85, 1.95, ">=", 1.8, 9, bound=2)[0] == "met"
    import io
    o = io.StringIO()
    lines = ["hello\n", "bench: @measure x op=<= target=1.10 unit=us a=att b=rep name=attest / report\n"]
    lines += ["@round x %d 10\n" % v for v in (10, 12, 10, 10, 10, 10, 10)]
    lines += ["@measure m op=<= target=2048 unit=bytes name=memory\n", "@value m 1200\n"]
    r = table("t", lines, o, short=False)
    assert r[0]["median"] == 1.0 and r[0]["max"] == 1.2 and r[0]["verdict"] == "UNSTABLE", r[0]
    assert r[1]["verdict"] == "UNSTABLE" and "hello" in o.getvalue()
    print("benchstat: selftest ok")


def main(argv):
    if len(argv) >= 2 and argv[1] == "selftest":
        selftest()
        return 0
    if len(argv) >= 3 and argv[1] == "table":
        table(argv[2], sys.stdin)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
