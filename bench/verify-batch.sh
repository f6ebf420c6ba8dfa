#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Batch quote verification (issue #17, item 4): `dstack-podctl
# verify-quote --batch DIR` (one process, one collateral object shared by a
# thread per core) against one `verify-quote` process per quote, and
# against --batch on one thread, on the same quotes, collateral and time.
# The quotes are copies of the v4 sample (the only real quote its
# collateral covers), so after the first one the PCK chain comes from the
# collateral's cache, as for many quotes from one platform.
#
# Measured as every ratio in bench/ is: in each round one block of each
# kind (the order rotates), quotes per second of wall-clock time (the
# threads are the point); the ratios go through bench/benchstat.py.  Not a
# test: prints figures.
#
#   BENCH_ROUNDS        measured rounds (default 9, after one warm-up round)
#   BENCH_BATCH_QUOTES  quotes per --batch block (default 400)
#   BENCH_ONE_QUOTES    quotes per one-process-per-quote block (default 40)
#   BENCH_SHORT         1: 2 rounds of small blocks (CI), nothing judged
#   DSTACK_POD_TESTDATA the TDX test vectors (default: user/tests/data/tdx)
set -eu

cd "$(dirname "$0")/.."
TESTDATA=${DSTACK_POD_TESTDATA:-$(pwd)/user/tests/data/tdx}
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	R=${BENCH_ROUNDS:-2} N=${BENCH_BATCH_QUOTES:-40} ONE=${BENCH_ONE_QUOTES:-8}
else
	R=${BENCH_ROUNDS:-9} N=${BENCH_BATCH_QUOTES:-400} ONE=${BENCH_ONE_QUOTES:-40}
fi
OUT=build/bench/batch
P=build/bin/dstack-podctl
QUOTE=$TESTDATA/dcap-qvl-tdx-quote-v4.bin
COLL=$TESTDATA/dcap-qvl-tdx-quote-v4.collateral.json
NOW=2025-07-01T00:00:00Z

make -s "$P"
rm -rf "$OUT"
mkdir -p "$OUT/quotes"
i=0
while [ "$i" -lt "$N" ]; do
	cp "$QUOTE" "$OUT/quotes/q$(printf %06d "$i").bin"
	i=$((i + 1))
done

echo "== Quote verification: --batch against one process per quote ($R rounds; blocks of $N quotes for --batch, $ONE for one-at-a-time; $(nproc) cores)"
/usr/bin/python3 - "$R" "$N" "$ONE" "$P" "$OUT" "$COLL" "$NOW" >"$OUT/rounds.txt" <<'PY'
import os, subprocess, sys, time
rounds, n, one, podctl, out, coll, now = sys.argv[1:]
rounds, n, one = int(rounds), int(n), int(one)
quotes = sorted(os.path.join(out, "quotes", f) for f in os.listdir(os.path.join(out, "quotes")))


def one_at_a_time():
    t0 = time.monotonic()
    for q in quotes[:one]:
        r = subprocess.run([podctl, "verify-quote", q, "--collateral", coll, "--now", now,
                            "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if r.returncode or b'"verified":true' not in r.stdout:
            sys.exit("bench/verify-batch: %s did not verify (status %d)" % (q, r.returncode))
    return one / (time.monotonic() - t0)


def batch(jobs):
    cmd = [podctl, "verify-quote", "--batch", os.path.join(out, "quotes"),
           "--collateral", coll, "--now", now]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    good = r.stdout.count(b'"verified":true')
    if r.returncode or good != n:
        sys.exit("bench/verify-batch: %s: %d of %d quotes verified (status %d): %s" % (
            " ".join(cmd[2:]), good, n, r.returncode, r.stderr.decode(errors="replace").strip()))
    return n / dt


cores = os.cpu_count() or 1
print("@measure batch1 op=none unit=quotes/s a=batch-jobs-1 b=one-process-per-quote "
      "name=quotes/s, --batch --jobs 1 / one verify-quote process per quote")
print("@measure batchn op=none unit=quotes/s a=batch-all-cores b=batch-jobs-1 bound=%d "
      "name=quotes/s, --batch on every core (%d) / --batch --jobs 1" % (cores, cores))
blocks = {"one": one_at_a_time, "b1": lambda: batch(1), "bn": lambda: batch(0)}
names = list(blocks)
for r in range(rounds + 1):
    k = r % len(names)
    got = {m: blocks[m]() for m in names[k:] + names[:k]}
    if r == 0:
        continue        # warm-up
    print("@round batch1 %g %g" % (got["b1"], got["one"]))
    print("@round batchn %g %g" % (got["bn"], got["b1"]))
    sys.stdout.flush()
print("@note the quotes are copies of one v4 quote: after the first, the PCK chain comes from the collateral's cache")
PY
./bench/benchstat.py table verify-batch <"$OUT/rounds.txt"
