#!/usr/bin/env bash
# Quality-filter comparison: runs winnow's gopher_quality, gopher_repetition,
# c4 and fineweb_quality stages, each alone and then the four chained, on
# gen_corpus.py's corpus. It joins the dropped documents (ROOT/rejects) with
# the corpus's ground-truth TSV in DuckDB and prints, per run, in Markdown:
#   - documents kept, beside datatrove 0.10.0's count on the same corpus;
#   - drops by reason code, with the measured signal where the stage
#     records one;
#   - drops by gen_corpus kind (junk category, original, near_dup,
#     exact_dup) and reason code, out of the documents of that kind.
#
# Needs python3 with /usr/share/dict/words (`make bench-deps`), Go, and
# Node.js with tools/duckdb installed (`make test-deps`).
#
# Usage: bench/quality_compare.sh OUT_DIR [DOCS]
set -euo pipefail

out=${1:-bench/out/quality}
docs=${2:-20000}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
query="$repo/tools/duckdb/query.mjs"
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ ! -d "$repo/tools/duckdb/node_modules/@duckdb/node-api" ]; then
	echo "quality_compare.sh: DuckDB's Node.js client is missing from tools/duckdb; run \`make test-deps\` first" >&2
	exit 1
fi

corpus=$out/corpus-$docs.jsonl
truth=$corpus.truth.tsv
if [ ! -s "$corpus" ] || [ ! -s "$truth" ]; then
	python3 "$here/gen_corpus.py" --out "$corpus" --docs "$docs" >&2
fi

bin=$out/winnow
(cd "$repo" && go build -o "$bin" ./cmd/winnow)

# Documents datatrove 0.10.0 kept on the 20,000-document corpus (default
# seed), one core, NLTK word tokenisation. With another DOCS they do not apply.
declare -A datatrove_kept=(
	[gopher_quality]=19086
	[gopher_repetition]=19673
	[c4]=18934
	[fineweb_quality]=19278
	[chain]=18442
)

# The chain's order is gopher_quality, gopher_repetition, c4,
# fineweb_quality. c4 rewrites the text it keeps, so fineweb_quality reads
# the cleaned lines, and another order can give another count.
chain_stages=gopher_quality,gopher_repetition,c4,fineweb_quality
runs=(gopher_quality gopher_repetition c4 fineweb_quality chain)

# rejects_of RUN: prints a DuckDB table expression of RUN's dropped
# documents. A run that dropped nothing writes no rejects file, and
# read_parquet fails on a pattern that matches none, so it gets an empty
# table of the columns used here.
rejects_of() {
	if compgen -G "$out/root-$1/rejects/*.parquet" >/dev/null; then
		echo "read_parquet('$out/root-$1/rejects/*.parquet')"
	else
		echo "(SELECT ''::VARCHAR AS id, ''::VARCHAR AS reason, ''::VARCHAR AS stage, ''::VARCHAR AS signal,
		  0::DOUBLE AS value, 0::DOUBLE AS threshold WHERE false)"
	fi
}

# sql QUERY [RUN]: runs QUERY in DuckDB with the view truth (the ground
# truth, with a grp column naming the kind of document) and, when RUN is
# given, the view rejects (RUN's dropped documents).
sql() {
	local body=$1 run=${2:-}
	local rejects_view=""
	if [ -n "$run" ]; then
		rejects_view="CREATE VIEW rejects AS SELECT * FROM $(rejects_of "$run");"
	fi
	node "$query" <<SQL
CREATE VIEW truth AS
SELECT *,
       CASE kind WHEN 'junk' THEN 'junk: ' || category ELSE kind END AS grp
FROM read_csv('$truth', delim = '\t', header = true, all_varchar = true);
$rejects_view
$body
SQL
}

# table TITLE COLUMN...: formats the JSON lines on stdin as a Markdown table
# of the named columns, preceded by TITLE.
table() {
	python3 -c '
import json, sys
title, cols = sys.argv[1], sys.argv[2:]
rows = [json.loads(l) for l in sys.stdin if l.strip()]
def cell(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
def is_number(v):
    return isinstance(v, (int, float))
# Right-align the columns that hold numbers only (nulls aside).
numeric = [any(is_number(r.get(c)) for r in rows) and all(is_number(r.get(c)) or r.get(c) is None for r in rows)
           for c in cols]
print(f"\n{title}\n")
print("| " + " | ".join(cols) + " |")
print("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
for r in rows:
    print("| " + " | ".join(cell(r.get(c)) for c in cols) + " |")
' "$@"
}

summary_rows=()
for run in "${runs[@]}"; do
	stages=$run
	if [ "$run" = chain ]; then
		stages=$chain_stages
	fi
	root=$out/root-$run
	config=$out/$run.yaml
	rm -rf "$root"
	printf 'stages: [%s]\n' "${stages//,/, }" >"$config"
	# No langid runs, so every document is unlabelled and gets the English
	# rules. The log level hides the warning about that.
	"$bin" run -c "$config" --only "$stages" --rejects --json --progress never \
		--log-level error -o "$root" "$corpus" >"$out/$run.summary.json"

	summary_rows+=("$(python3 - "$out/$run.summary.json" "$run" "${datatrove_kept[$run]}" "$docs" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
run, datatrove, docs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
docs_kept = s["docs_kept"]
datatrove_text = f"{docs} -> {datatrove}" if docs == 20000 else "-"
diff = f"{docs_kept - datatrove:+d}" if docs == 20000 else "-"
print(json.dumps({"run": run, "winnow": f"{s['docs_read']} -> {docs_kept}", "dropped": s["docs_read"] - docs_kept,
                  "datatrove 0.10.0": datatrove_text, "kept, winnow - datatrove": diff}))
PY
)")
done

echo "# winnow quality filters on corpus-$docs.jsonl"
printf '%s\n' "${summary_rows[@]}" | table "Documents in -> kept:" run winnow dropped "datatrove 0.10.0" "kept, winnow - datatrove"

for run in "${runs[@]}"; do
	echo
	echo "## $run"

	# Every rejected id must be a corpus id, or the joins below mean nothing.
	sql "SELECT count(*) AS n FROM rejects WHERE id NOT IN (SELECT id FROM truth);" "$run" |
		python3 -c '
import json, sys
n = json.loads(sys.stdin.read())["n"]
if n:
    sys.exit(f"quality_compare.sh: {n} rejected ids are not in the truth TSV; check how winnow derives ids")
'

	sql "
SELECT stage, reason, count(*) AS drops, any_value(signal) FILTER (WHERE signal <> '') AS signal,
       min(value) AS min_value, max(value) AS max_value, any_value(threshold) AS threshold
FROM rejects GROUP BY stage, reason ORDER BY stage, drops DESC, reason;" "$run" |
		table "Drops by reason:" stage reason drops signal min_value max_value threshold

	# One row per kind of document and one column per reason. The last
	# column is the number of documents of that kind in the corpus.
	sql "
SELECT t.grp AS kind, r.reason, count(r.id) AS n, any_value(k.docs) AS docs
FROM truth t
JOIN (SELECT grp, count(*) AS docs FROM truth GROUP BY grp) k USING (grp)
LEFT JOIN rejects r USING (id)
GROUP BY t.grp, r.reason ORDER BY t.grp, r.reason;" "$run" |
		python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
reasons = sorted({r["reason"] for r in rows if r["reason"]})
kinds, docs, cells = [], {}, {}
for r in rows:
    if r["kind"] not in docs:
        kinds.append(r["kind"])
        docs[r["kind"]] = r["docs"]
    if r["reason"]:
        cells[(r["kind"], r["reason"])] = r["n"]
# Junk categories first, in the order gen_corpus.py lists them.
order = ["short", "lorem", "curly", "bullets", "repeated_lines", "no_punct", "long_words", "hashtags", "ellipsis"]
def key(k):
    if k.startswith("junk: "):
        c = k[len("junk: "):]
        return (0, order.index(c) if c in order else len(order), c)
    return (1, ["original", "near_dup", "exact_dup"].index(k) if k in ("original", "near_dup", "exact_dup") else 3, k)
kinds.sort(key=key)
cols = ["kind"] + reasons + ["dropped", "docs"]
print("\nDrops by kind of document and reason:\n")
print("| " + " | ".join(cols) + " |")
print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")
for k in kinds:
    row = [cells.get((k, r), 0) for r in reasons]
    print("| " + " | ".join([k] + [str(v) for v in row] + [str(sum(row)), str(docs[k])]) + " |")
total = [sum(cells.get((k, r), 0) for k in kinds) for r in reasons]
print("| " + " | ".join(["all"] + [str(v) for v in total] + [str(sum(total)), str(sum(docs.values()))]) + " |")
'

	# c4 removes lines as well as documents, and its summary counts them.
	python3 - "$out/$run.summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for st in s["stages"]:
    ev = {k: v for k, v in (st.get("events") or {}).items() if k.startswith("c4_line_")}
    if ev:
        print("\nc4 lines removed, by first rule failed (all checked documents, dropped ones included):\n")
        print("| event | lines |")
        print("|---|---:|")
        for k, v in sorted(ev.items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {v} |")
PY
done

# One table for all runs: per kind of document, the drops of each run with
# their reasons.
union=""
for run in "${runs[@]}"; do
	[ -n "$union" ] && union+=" UNION ALL "
	union+="SELECT '$run' AS run, id, reason FROM $(rejects_of "$run")"
done
echo
echo "## All runs"
sql "
SELECT t.grp AS kind, r.run, r.reason, count(*) AS n
FROM truth t JOIN ($union) r USING (id)
GROUP BY ALL
UNION ALL
SELECT grp, '', '', count(*) FROM truth GROUP BY grp;" |
	python3 -c '
import json, sys
runs = sys.argv[1:]
rows = [json.loads(l) for l in sys.stdin if l.strip()]
docs = {r["kind"]: r["n"] for r in rows if r["run"] == ""}
cells = {}
for r in rows:
    if r["run"]:
        cells.setdefault((r["kind"], r["run"]), []).append((r["n"], r["reason"]))
order = ["short", "lorem", "curly", "bullets", "repeated_lines", "no_punct", "long_words", "hashtags", "ellipsis"]
kinds = [f"junk: {c}" for c in order if f"junk: {c}" in docs] + [k for k in ("original", "near_dup", "exact_dup") if k in docs]
kinds += sorted(k for k in docs if k not in kinds)
print("\nDrops by kind of document (documents of that kind in brackets) and run, with reasons:\n")
print("| kind | " + " | ".join(runs) + " |")
print("|---|" + "---|" * len(runs))
for k in kinds:
    out = []
    for run in runs:
        c = sorted(cells.get((k, run), []), key=lambda x: (-x[0], x[1]))
        out.append(", ".join(f"{n} {reason}" for n, reason in c) if c else "0")
    print(f"| {k} ({docs[k]}) | " + " | ".join(out) + " |")
' "${runs[@]}"
