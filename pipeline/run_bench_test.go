package pipeline

import (
	"context"
	"strings"
	"testing"
)

// discardSink drops everything it is given.
type discardSink struct{}

func (discardSink) Write(context.Context, *Batch) error { return nil }
func (discardSink) Close(context.Context) error         { return nil }

// prebuiltSource emits the same batches again, renumbered.
type prebuiltSource struct{ batches []*Batch }

func (s prebuiltSource) Run(ctx context.Context, emit func(*Batch) error) error {
	for i, b := range s.batches {
		b.Rec.Retain() // the engine releases each batch after the sink
		cp := &Batch{Seq: uint64(i), Rec: b.Rec, Dropped: make([]string, b.Len())}
		if err := emit(cp); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkEngineOverhead measures what the engine itself costs per byte:
// three stages that do nothing, one of them a 2-worker pool, between a
// source of prebuilt 256-document batches and a sink that discards them.
func BenchmarkEngineOverhead(b *testing.B) {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog ", 70) // about 3 KB
	var batches []*Batch
	var total int64
	for seq := range 64 {
		bb := NewBatchBuilder()
		for range 256 {
			bb.Append(&Doc{ID: "x", Text: text})
			total += int64(len(text))
		}
		batches = append(batches, bb.Build(uint64(seq)))
	}
	nop := funcStage(func(context.Context, *Batch) error { return nil })
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		p := newTestPipeline(prebuiltSource{batches}, discardSink{},
			StageInstance{Name: "a", Stage: nop, Workers: 1},
			StageInstance{Name: "b", Stage: nop, Workers: 2},
			StageInstance{Name: "c", Stage: nop, Workers: 1},
		)
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
