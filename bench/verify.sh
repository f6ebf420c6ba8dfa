#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Quote verification: compare our verifier with Phala's pure-JS dcap-qvl
# (@phala/dcap-qvl from npm, installed into build/bench only; never a
# product dependency) on the same quotes, collateral and time, then
# measure throughput of both on one core, and ours against the limit set
# by OpenSSL's ECDSA-P256 verify rate.  Throughput is measured in
# alternating rounds within one run (ours warm, ours cold, dcap-qvl, our
# in-process P-256 rate, `openssl speed`; the order rotates every round),
# by long-lived processes that each measure one block on demand, as work
# per second of the process's own CPU time (as `openssl speed` does), so
# that other load on the machine does not count; the ratios go through
# bench/benchstat.py.  Not a test: prints figures.
#
#   BENCH_ROUNDS    measured rounds (default 9, after one warm-up round)
#   BENCH_SECONDS   CPU seconds per throughput block (default 0.5)
#   BENCH_SHORT     1: 2 rounds of 0.1 s (CI), nothing judged
#   DCAP_QVL_VERSION  npm version of @phala/dcap-qvl (default 0.3.9)
#   DSTACK_POD_TESTDATA  the TDX test vectors (default: user/tests/data/tdx)
set -eu

cd "$(dirname "$0")/.."
TESTDATA=${DSTACK_POD_TESTDATA:-$(pwd)/user/tests/data/tdx}
if [ "${BENCH_SHORT:-0}" != 0 ]; then
	ROUNDS=${BENCH_ROUNDS:-2} SECS=${BENCH_SECONDS:-0.1}
else
	ROUNDS=${BENCH_ROUNDS:-9} SECS=${BENCH_SECONDS:-0.5}
fi
QVL_VERSION=${DCAP_QVL_VERSION:-0.3.9}
OUT=build/bench
GOOD_TIME=2025-07-01T00:00:00Z
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
QUOTE=$TESTDATA/dcap-qvl-tdx-quote-v4.bin
COLL=$TESTDATA/dcap-qvl-tdx-quote-v4.collateral.json
PIN=""
command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"

mkdir -p "$OUT"
# The verifier alone: its library and the common one (user/lib/verify,
# user/lib/common), no node code.
make -s build/libdstackpod-verify.a build/libdstackpod-common.a
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wformat=2 \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Iuser/lib \
	-o "$OUT/bench_verify" user/bench/bench_verify.c \
	build/libdstackpod-verify.a build/libdstackpod-common.a -lcrypto -ljson-c -ldl

# The quote inside dstack's GetQuote JSON, as a binary file.
python3 - "$TESTDATA/dstack-getquote-with-eventlog.json" "$OUT/dstack-getquote.bin" <<'PY'
import json, sys
open(sys.argv[2], "wb").write(bytes.fromhex(json.load(open(sys.argv[1]))["quote"]))
PY

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "bench: node/npm not found; comparison with dcap-qvl skipped" >&2
	NO_QVL=1
elif [ ! -d "$OUT/node_modules/@phala/dcap-qvl" ]; then
	echo "bench: installing @phala/dcap-qvl@$QVL_VERSION into $OUT (npm)"
	[ -f "$OUT/package.json" ] || echo '{"private":true}' >"$OUT/package.json"
	npm install --prefix "$OUT" --no-audit --no-fund --silent \
		"@phala/dcap-qvl@$QVL_VERSION" >/dev/null || {
		echo "bench: npm install failed; comparison skipped" >&2
		NO_QVL=1
	}
fi

# ---- verdicts, side by side --------------------------------------------
CASES="$QUOTE|$GOOD_TIME $QUOTE|$NOW $TESTDATA/dstack-ra-tls-quote-v4.bin|$GOOD_TIME $OUT/dstack-getquote.bin|$GOOD_TIME"
: >"$OUT/ours.jsonl"
for c in $CASES; do
	q=${c%|*}
	t=${c#*|}
	"$OUT/bench_verify" verdict "$q" "$COLL" "$t" >>"$OUT/ours.jsonl" || true
done

cat >"$OUT/compare.js" <<'JS'
// Compare dcap-qvl's verdicts with ours (one JSON line per case).
const fs = require('fs');
const qvl = require('@phala/dcap-qvl');
const [coll, oursFile, ...cases] = process.argv.slice(2);
const collateral = JSON.parse(fs.readFileSync(coll));
const ours = fs.readFileSync(oursFile, 'utf8').trim().split('\n').map(JSON.parse);
const hex = (u) => Buffer.from(u).toString('hex');
const fields = [['teeTcbSvn', 'tee_tcb_svn'], ['mrSeam', 'mrseam'],
  ['mrSignerSeam', 'mrsignerseam'], ['seamAttributes', 'seam_attributes'],
  ['tdAttributes', 'td_attributes'], ['xfam', 'xfam'], ['mrTd', 'mrtd'],
  ['mrConfigId', 'mrconfigid'], ['mrOwner', 'mrowner'],
  ['mrOwnerConfig', 'mrownerconfig'], ['reportData', 'report_data']];
let disagree = 0;
cases.forEach((c, i) => {
  const [q, t] = c.split('|');
  const o = ours[i];
  const name = `${q.split('/').pop()} @ ${t}`;
  let r = null, err = null;
  try {
    r = qvl.verify(fs.readFileSync(q), collateral, Date.parse(t) / 1000);
  } catch (e) { err = e.message; }
  const diffs = [];
  if (!!r !== o.verified)
    diffs.push(`accept: dcap-qvl ${!!r}, ours ${o.verified}`);
  if (r && o.verified) {
    if (r.status !== o.tcb_status)
      diffs.push(`status: dcap-qvl ${r.status}, ours ${o.tcb_status}`);
    const a = [...r.advisory_ids].sort().join(','), b = [...o.advisory_ids].sort().join(',');
    if (a !== b) diffs.push(`advisories: dcap-qvl [${a}], ours [${b}]`);
    const d = r.report.data, m = o.measurements;
    for (const [k, ok] of fields)
      if (hex(d[k]) !== m[ok]) diffs.push(`${ok}: dcap-qvl ${hex(d[k])}, ours ${m[ok]}`);
    for (let n = 0; n < 4; n++)
      if (hex(d['rtMr' + n]) !== m.rtmr[n]) diffs.push(`rtmr${n} differs`);
  }
  const what = r ? `verified, ${r.status} [${r.advisory_ids.join(',')}]`
                 : `rejected (dcap-qvl: ${err}; ours: ${o.failed_check}: ${o.reason})`;
  console.log(`${diffs.length ? 'DISAGREE' : 'agree   '} ${name}: ${what}`);
  diffs.forEach((x) => console.log(`           ${x}`));
  disagree += diffs.length ? 1 : 0;
});
console.log(`compare: ${cases.length - disagree} of ${cases.length} cases agree`);
JS

cat >"$OUT/speed.js" <<'JS'
// dcap-qvl throughput on demand: each stdin line "SECS" is answered with
// the quotes verified per second of CPU time over one block of SECS of CPU
// time (one thread).
const fs = require('fs');
const readline = require('readline');
const qvl = require('@phala/dcap-qvl');
const [q, coll, t] = process.argv.slice(2);
const quote = fs.readFileSync(q), collateral = JSON.parse(fs.readFileSync(coll));
const now = Date.parse(t) / 1000;
for (let i = 0; i < 20; i++) qvl.verify(quote, collateral, now);
// Seconds of this process's CPU time (user + system), like bench_verify.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  const secs = parseFloat(l);
  let n = 0, el = 0;
  const t0 = cpu();
  while (el < secs) { qvl.verify(quote, collateral, now); n++; el = cpu() - t0; }
  console.log((n / el).toFixed(1));
});
JS

echo "== Quote verification: verdicts (ours vs @phala/dcap-qvl $QVL_VERSION) =="
if [ -z "${NO_QVL:-}" ]; then
	# shellcheck disable=SC2086
	NODE_PATH="$OUT/node_modules" node "$OUT/compare.js" "$COLL" "$OUT/ours.jsonl" $CASES
fi

echo "== Quote verification: throughput (one core; $ROUNDS rounds of ${SECS}s blocks, alternating)"
# ECDSA-P256 verifications per quote (counted, not timed).
"$OUT/bench_verify" speed "$QUOTE" "$COLL" "$GOOD_TIME" 0.01 >"$OUT/ours.txt"
get() { awk -v k="$1" '$1 == k { print $2 }' "$OUT/ours.txt"; }
NV_WARM=$(get verifies_warm); NV_COLD=$(get verifies_cold)
NODE_PATH="$OUT/node_modules" /usr/bin/python3 - "$ROUNDS" "$SECS" "$NV_WARM" "$NV_COLD" \
	"${NO_QVL:-}" "$PIN" "$OUT/bench_verify" "$QUOTE" "$COLL" "$GOOD_TIME" "$OUT/speed.js" >"$OUT/rounds.txt" <<'PY'
import re, shlex, subprocess, sys
rounds, secs, nvw, nvc, no_qvl, pin, bv, quote, coll, when, js = sys.argv[1:]
rounds, nvw, nvc, pin = int(rounds), int(nvw), int(nvc), shlex.split(pin)
ours = subprocess.Popen(pin + [bv, "serve", quote, coll, when], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True)
qvl = None
if not no_qvl:
    qvl = subprocess.Popen(pin + ["node", js, quote, coll, when], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
def ask(p, line):
    p.stdin.write(line + "\n")
    p.stdin.flush()
    return float(p.stdout.readline())
def openssl_speed():
    # openssl speed's shortest run is one second.
    out = subprocess.run(pin + ["openssl", "speed", "-seconds", "1", "ecdsap256"],
                         capture_output=True, text=True).stdout
    m = [l.split()[-1] for l in out.splitlines() if "nistp256" in l]
    return float(m[-1]) if m else float("nan")
blocks = {
    "warm": lambda: ask(ours, "warm %s" % secs),
    "cold": lambda: ask(ours, "cold %s" % secs),
    "p256": lambda: ask(ours, "p256 %s" % secs),
    "speed": openssl_speed,
}
if qvl:
    blocks["qvl"] = lambda: ask(qvl, secs)
if qvl:
    print("@measure warm_qvl op=>= target=10 unit=quotes/s a=ours-reused b=dcap-qvl "
          "name=quotes/s, ours (collateral reused) / @phala/dcap-qvl")
    print("@measure cold_qvl op=none unit=quotes/s a=ours-cold b=dcap-qvl "
          "name=quotes/s, ours (all cold) / @phala/dcap-qvl")
print("@measure p256 op=none unit=verifies/s a=in-process b=openssl-speed "
      "name=ECDSA-P256 verify/s, in process / openssl speed")
print("@measure warm_limit op=none unit=%% name=ours reused, %% of the P-256 limit (%d verifies/quote)" % nvw)
print("@measure cold_limit op=none unit=%% name=ours cold, %% of the P-256 limit (%d verifies/quote)" % nvc)
# issue 17: a cold verification against the %d-verify limit of openssl speed.
print("@measure cold_speed op=>= target=0.5 unit=ratio "
      "name=ours cold / openssl speed limit (%d ECDSA-P256 verifies per quote)" % nvc)
names = list(blocks)
for r in range(rounds + 1):
    k = r % len(names)
    got = {n: blocks[n]() for n in names[k:] + names[:k]}
    if r == 0:
        continue        # warm-up
    if qvl:
        print("@round warm_qvl %g %g" % (got["warm"], got["qvl"]))
        print("@round cold_qvl %g %g" % (got["cold"], got["qvl"]))
    print("@round p256 %g %g" % (got["p256"], got["speed"]))
    print("@value warm_limit %g" % (100 * got["warm"] * nvw / got["p256"]))
    print("@value cold_limit %g" % (100 * got["cold"] * nvc / got["p256"]))
    print("@value cold_speed %g" % (got["cold"] * nvc / got["speed"]))
    sys.stdout.flush()
if not qvl:
    print("@note node/npm or @phala/dcap-qvl missing: the comparison with dcap-qvl was skipped")
for p in (ours, qvl):
    if p:
        p.stdin.close()
        p.wait()
PY
./bench/benchstat.py table verify <"$OUT/rounds.txt"
