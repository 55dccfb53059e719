package stages

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tiktoken-go/tokenizer"

	"github.com/winnow-data/winnow/pipeline"
)

// tokenCounts returns the token_count column of b.
func tokenCounts(b *pipeline.Batch) []int32 {
	return slices.Clone(b.Column(pipeline.ColTokenCount).(*array.Int32).Int32Values())
}

// setTokenCounts replaces the token_count column of b with counts.
func setTokenCounts(b *pipeline.Batch, counts []int32) {
	bld := array.NewInt32Builder(memory.DefaultAllocator)
	defer bld.Release()
	bld.AppendValues(counts, nil)
	arr := bld.NewArray()
	defer arr.Release()
	b.SetColumn(pipeline.ColTokenCount, arr)
}

func TestTokensCountsAliveRows(t *testing.T) {
	texts := []string{"Hello, world!", "dropped before counting", "", "Grüße aus Köln 😀", "   "}
	for _, enc := range []string{"cl100k_base", "o200k_base"} {
		t.Run(enc, func(t *testing.T) {
			st, _ := stageFromYAML(t, "tokens", "encoding: "+enc)
			codec, err := tokenizer.Get(tokenizer.Encoding(enc))
			if err != nil {
				t.Fatal(err)
			}
			b := batchFromTexts(0, texts...)
			defer b.Release()
			setTokenCounts(b, []int32{-1, 77, -1, -1, -1})
			b.Drop(1, "test_drop")
			processOne(t, st, b)

			got := tokenCounts(b)
			for i, text := range texts {
				want := int32(77)
				if i != 1 {
					n, err := codec.Count(text)
					if err != nil {
						t.Fatal(err)
					}
					want = int32(n)
				}
				if got[i] != want {
					t.Errorf("row %d (%q): token_count %d, want %d", i, text, got[i], want)
				}
			}
		})
	}
}

func TestTokensSameWhateverBatchSize(t *testing.T) {
	texts := dolmaSampleTexts(t)
	var want []int32
	for _, size := range []int{len(texts), 1, 7, 100} {
		st, _ := stageFromYAML(t, "tokens", "")
		var got []int32
		for seq, start := 0, 0; start < len(texts); seq, start = seq+1, start+size {
			b := batchFromTexts(uint64(seq), texts[start:min(start+size, len(texts))]...)
			processOne(t, st, b)
			got = append(got, tokenCounts(b)...)
			b.Release()
		}
		if want == nil {
			want = got
			continue
		}
		if i := firstDifference(got, want); i >= 0 {
			t.Errorf("batches of %d: document %d has token_count %d, one batch gives %d", size, i, got[i], want[i])
		}
	}
	for i, n := range want {
		if n <= 0 && texts[i] != "" {
			t.Errorf("document %d: token_count %d for %d bytes of text", i, n, len(texts[i]))
		}
	}
}

// firstDifference returns the first index where a and b differ, or -1.
func firstDifference(a, b []int32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestTokensOptions(t *testing.T) {
	checkBuild(t, "tokens", "", "")
	checkBuild(t, "tokens", "encoding: o200k_base", "")
	checkBuild(t, "tokens", "encoding: p50k_base", `invalid encoding "p50k_base"`)
	checkBuild(t, "tokens", "encoding: gpt-4o", `invalid encoding "gpt-4o"`)
	checkBuild(t, "tokens", "model: gpt-4", "model")
}

func TestTokensSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("tokens")
	if !ok {
		t.Fatal("tokens is not registered")
	}
	if !spec.Concurrent {
		t.Error("tokens is not marked concurrent")
	}
	if len(spec.Options) != 1 || spec.Options[0].Name != "encoding" || spec.Options[0].Default != "cl100k_base" {
		t.Errorf("options %+v, want one option encoding with default cl100k_base", spec.Options)
	}
}
