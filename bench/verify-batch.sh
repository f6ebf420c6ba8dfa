#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Batch quote verification: `dstack-podctl verify-quote --batch DIR` (one
# process, one collateral object shared by a thread per core) against one
# `verify-quote` process per quote, and against --batch on one thread, on
# the same quotes, collateral and time.  The quotes are copies of the v4
# sample (the only real quote its collateral covers), so after the first
# one the PCK chain comes from the collateral's cache, as for many quotes
# from one platform.  Not a test: prints figures.
#
#   BENCH_BATCH_QUOTES  quotes per run (default 400)
set -eu

cd "$(dirname "$0")/.."
TESTDATA=${DSTACK_POD_TESTDATA:-$(pwd)/user/tests/data/tdx}
N=${BENCH_BATCH_QUOTES:-400}
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

t0=$(date +%s.%N)
for f in "$OUT"/quotes/*.bin; do
	"$P" verify-quote "$f" --collateral "$COLL" --now "$NOW" --json >/dev/null
done
t1=$(date +%s.%N)
"$P" verify-quote --batch "$OUT/quotes" --collateral "$COLL" --now "$NOW" \
	--jobs 1 >"$OUT/batch1.jsonl" 2>"$OUT/batch1.err"
t2=$(date +%s.%N)
"$P" verify-quote --batch "$OUT/quotes" --collateral "$COLL" --now "$NOW" \
	>"$OUT/batch.jsonl" 2>"$OUT/batch.err"
t3=$(date +%s.%N)

for f in batch1 batch; do
	good=$(grep -c '"verified":true' "$OUT/$f.jsonl" || true)
	if [ "$good" != "$N" ]; then
		echo "bench/verify-batch: $f: $good of $N quotes verified" >&2
		exit 1
	fi
done
python3 - "$t0" "$t1" "$t2" "$t3" "$N" "$(nproc)" "$(sed 's/.*(\(.*\) threads)/\1/' "$OUT/batch.err")" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
n, cores, threads = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
one, b1, bn = t1 - t0, t2 - t1, t3 - t2
print("verify-quote, one process per quote: %6.0f quotes/s (%d quotes, %.2f s)" % (n / one, n, one))
print("verify-quote --batch --jobs 1:       %6.0f quotes/s (%.3f s), %.1fx one-at-a-time" % (n / b1, b1, one / b1))
print("verify-quote --batch (%d threads):    %6.0f quotes/s (%.3f s), %.1fx one-at-a-time, %.2fx --jobs 1 (%d cores)" %
      (threads, n / bn, bn, one / bn, b1 / bn, cores))
PY
