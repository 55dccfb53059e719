#!/usr/bin/env bash
# End-to-end benchmark: generates the synthetic corpus, then runs winnow on
# it with each stage alone and with whole chains, on 1 and 2 workers (with
# GOMAXPROCS set to match, so "1 worker" means one core), and
# prints MB/s. Each figure is the median of RUNS runs (default 3), because
# shared machines are noisy.
#
# Usage: bench/run.sh OUT_DIR [DOCS]
set -euo pipefail

out=${1:-bench/out}
docs=${2:-20000}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
bin=${WINNOW:-$here/../bin/winnow}
mkdir -p "$out"

corpus=$out/corpus-$docs.jsonl
if [ ! -s "$corpus" ]; then
	python3 "$here/gen_corpus.py" --out "$corpus" --docs "$docs" >&2
fi
# lingua-go's scorer runs near 0.1 MB/s, so langid gets a 500-document slice.
small=$out/corpus-500.jsonl
head -n 500 "$corpus" >"$small"

# measure NAME INPUT WORKERS winnow-run-flags...
# Prints: name, workers, docs in, MB in, median end-to-end MB/s, median
# MB/s of the named stage's busy time per worker.
measure() {
	local name=$1 input=$2 workers=$3
	shift 3
	local results=()
	for _ in $(seq "$runs"); do
		rm -rf "$out/root"
		GOMAXPROCS=$workers "$bin" run --json --progress never --log-level error --workers "$workers" -o "$out/root" "$@" "$input" >"$out/summary.json"
		results+=("$(python3 - "$out/summary.json" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
stage = next((st for st in s["stages"] if st["name"] == sys.argv[2]), None)
stage_mbs = 0.0
if stage and stage["busy_seconds"] > 0:
    stage_mbs = stage["bytes_in"] / 1e6 / (stage["busy_seconds"] / stage["workers"])
print(s["docs_read"], s["bytes_read"] / 1e6, s["mb_per_second"], stage_mbs)
PY
)")
	done
	printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
name, workers = sys.argv[1], sys.argv[2]
e2e = statistics.median(r[2] for r in rows)
st = statistics.median(r[3] for r in rows)
st_text = f"{st:10.1f}" if st > 0 else "         -"
print(f"{name:<32} {workers:>7} {int(rows[0][0]):>8} {rows[0][1]:>8.1f} {e2e:>10.2f} {st_text}")
' "$name" "$workers"
}

# near_dedup is not in the default chain, so it needs configs of its own.
near_only=$out/near-only.yaml
near_chain=$out/near-chain.yaml
printf 'stages: [near_dedup]\n' >"$near_only"
printf 'stages: [normalize, gopher_quality, pii, exact_dedup, near_dedup]\n' >"$near_chain"

printf '%-32s %7s %8s %8s %10s %10s\n' "run" "workers" "docs" "MB" "e2e MB/s" "stage MB/s"
for w in 1 2; do
	for stage in normalize exact_dedup gopher_quality pii; do
		measure "$stage" "$corpus" "$w" --only "$stage"
	done
	measure near_dedup "$corpus" "$w" -c "$near_only"
	measure langid "$small" "$w" --only langid
	measure "all but langid" "$corpus" "$w" --skip langid
	measure "all but langid, near_dedup" "$corpus" "$w" -c "$near_chain"
	measure "all (500 docs)" "$small" "$w"
done

# Near-duplicate accuracy against true Jaccard similarity.
echo
"$here/near_accuracy.sh" "$out" "$docs"
