#!/usr/bin/env bash
# Near-duplicate accuracy: runs winnow's normalize and near_dedup stages,
# with method minhash and then simhash, on three corpora, and prints
# near_dedup's recall and precision against true Jaccard similarity
# (bench/neareval). The corpora:
#   corpus-DOCS.jsonl   gen_corpus.py's corpus, with its planted pairs
#   pairs-dolma.jsonl   200 English Common Crawl documents from testdata and
#                       4 edited copies of each, with computed pairs
#   pairs-gen.jsonl     1,000 documents of corpus-DOCS.jsonl and 4 edited
#                       copies of each, with computed pairs
#
# Usage: bench/near_accuracy.sh OUT_DIR [DOCS]
set -euo pipefail

out=${1:-bench/out}
docs=${2:-20000}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
bin=${WINNOW:-$repo/bin/winnow}
near=$out/near
mkdir -p "$near"

corpus=$out/corpus-$docs.jsonl
if [ ! -s "$corpus" ]; then
	python3 "$here/gen_corpus.py" --out "$corpus" --docs "$docs" >&2
fi

neareval=$near/neareval
(cd "$repo" && go build -o "$neareval" ./bench/neareval)

# The default chain has no near_dedup, so each method gets a config.
printf 'stages: [normalize, near_dedup]\n' >"$near/minhash.yaml"
printf 'stages:\n  - normalize\n  - near_dedup: {method: simhash}\n' >"$near/simhash.yaml"

"$neareval" -make-pairs 200 -from "$repo/testdata/cc-2019-30-00140.dolma.jsonl.gz" -out "$near/pairs-dolma.jsonl"
"$neareval" -make-pairs 1000 -from "$corpus" -out "$near/pairs-gen.jsonl"

# evaluate NAME CORPUS TRUTH
evaluate() {
	local name=$1 input=$2 truth=$3
	for method in minhash simhash; do
		local root=$near/root-$name-$method
		rm -rf "$root"
		echo
		echo "=== $name, near_dedup method $method"
		"$bin" run --progress never --log-level warn -o "$root" --only normalize,near_dedup \
			-c "$near/$method.yaml" "$input" >/dev/null
		"$neareval" -corpus "$input" -truth "$truth" -root "$root"
	done
}

evaluate "corpus-$docs" "$corpus" "$corpus.truth.tsv"
evaluate pairs-dolma "$near/pairs-dolma.jsonl" "$near/pairs-dolma.jsonl.pairs.tsv"
evaluate pairs-gen "$near/pairs-gen.jsonl" "$near/pairs-gen.jsonl.pairs.tsv"

# Without a truth file, pairs at J >= 0.85 come from an exact all-pairs
# search; this cross-checks the planted truth on the same dataset.
echo
echo "=== corpus-$docs without its truth file, method minhash"
"$neareval" -corpus "$corpus" -root "$near/root-corpus-$docs-minhash"
