package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// countSource emits n batches of size docs each, numbered "d<seq>-<row>".
type countSource struct {
	batches, size int
	emitted       atomic.Int64
}

func (s *countSource) Run(ctx context.Context, emit func(*Batch) error) error {
	bb := NewBatchBuilder()
	for seq := 0; seq < s.batches; seq++ {
		for r := 0; r < s.size; r++ {
			bb.Append(&Doc{ID: fmt.Sprintf("d%d-%d", seq, r), Text: strings.Repeat("x", r+1), Input: "mem"})
		}
		bb.AddPosition(Position{Input: "mem", FirstRecord: int64(seq * s.size), EndRecord: int64((seq + 1) * s.size)})
		if err := emit(bb.Build(uint64(seq))); err != nil {
			return err
		}
		s.emitted.Add(1)
	}
	return nil
}

// collectSink records the ids of alive rows in arrival order.
type collectSink struct {
	mu     sync.Mutex
	ids    []string
	seqs   []uint64
	delay  time.Duration
	closed bool
	err    error
}

func (s *collectSink) Write(ctx context.Context, b *Batch) error {
	if s.err != nil {
		return s.err
	}
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, b.Seq)
	ids := b.Strings(ColID)
	for i := 0; i < b.Len(); i++ {
		if b.Alive(i) {
			s.ids = append(s.ids, ids.Value(i))
		}
	}
	return nil
}

func (s *collectSink) Close(ctx context.Context) error { s.closed = true; return nil }

// funcStage adapts a function to Stage.
type funcStage func(ctx context.Context, b *Batch) error

func (f funcStage) Process(ctx context.Context, b *Batch) error { return f(ctx, b) }

func newTestPipeline(src Source, sink Sink, stages ...StageInstance) *Pipeline {
	for i := range stages {
		if stages[i].Env.Logger == nil {
			stages[i].Env = NewEnv(quietLogger, stages[i].Name)
		}
	}
	return &Pipeline{
		Source: src, SourceEnv: NewEnv(quietLogger, "source"),
		Stages: stages,
		Sink:   sink, SinkEnv: NewEnv(quietLogger, "sink"),
		Logger: quietLogger,
	}
}

func TestRunKeepsOrderWithWorkers(t *testing.T) {
	defer goleak.VerifyNone(t)
	// Later batches finish first, so only the pool's reordering gives
	// input order at the sink.
	slowEarly := funcStage(func(ctx context.Context, b *Batch) error {
		time.Sleep(time.Duration(20-b.Seq%20) * time.Millisecond / 4)
		return nil
	})
	dropOdd := funcStage(func(ctx context.Context, b *Batch) error {
		for i := 0; i < b.Len(); i++ {
			if i%2 == 1 {
				b.Drop(i, "odd_row")
			}
		}
		return nil
	})
	sink := &collectSink{}
	p := newTestPipeline(&countSource{batches: 40, size: 4}, sink,
		StageInstance{Name: "slow", Stage: slowEarly, Workers: 4},
		StageInstance{Name: "drop_odd", Stage: dropOdd, Workers: 1},
	)
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, seq := range sink.seqs {
		if seq != uint64(i) {
			t.Fatalf("batch %d at the sink has Seq %d", i, seq)
		}
	}
	if len(sink.ids) != 80 {
		t.Fatalf("sink got %d rows, want 80", len(sink.ids))
	}
	if sink.ids[0] != "d0-0" || sink.ids[1] != "d0-2" || sink.ids[79] != "d39-2" {
		t.Errorf("unexpected row order: %v ... %v", sink.ids[:2], sink.ids[79])
	}
	if !sink.closed {
		t.Error("sink was not closed after a successful run")
	}

	ms := p.Metrics().Stages
	drop := ms[2]
	if drop.Name != "drop_odd" || drop.DocsIn.Load() != 160 || drop.DocsOut.Load() != 80 {
		t.Errorf("drop_odd metrics: name %s in %d out %d", drop.Name, drop.DocsIn.Load(), drop.DocsOut.Load())
	}
	if got := drop.Drops()["odd_row"]; got != 80 {
		t.Errorf("odd_row drops = %d, want 80", got)
	}
	if ms[1].Busy() <= 0 {
		t.Error("slow stage recorded no busy time")
	}
	if ms[len(ms)-1].DocsIn.Load() != 80 {
		t.Errorf("sink docs in = %d, want 80", ms[len(ms)-1].DocsIn.Load())
	}
}

func TestRunNamesFailingStage(t *testing.T) {
	defer goleak.VerifyNone(t)
	boom := errors.New("boom")
	failing := funcStage(func(ctx context.Context, b *Batch) error {
		if b.Seq == 3 {
			return boom
		}
		return nil
	})
	for _, workers := range []int{1, 3} {
		sink := &collectSink{}
		p := newTestPipeline(&countSource{batches: 1000, size: 2}, sink,
			StageInstance{Name: "pass", Stage: funcStage(func(context.Context, *Batch) error { return nil }), Workers: 2},
			StageInstance{Name: "breaker", Stage: failing, Workers: workers},
		)
		err := p.Run(context.Background())
		var se *StageError
		if !errors.As(err, &se) || se.Stage != "breaker" || !errors.Is(err, boom) {
			t.Fatalf("workers=%d: Run error = %v, want a StageError of stage breaker wrapping boom", workers, err)
		}
		if sink.closed {
			t.Errorf("workers=%d: sink closed after a failed run", workers)
		}
	}
}

func TestRunRecoversPanic(t *testing.T) {
	defer goleak.VerifyNone(t)
	panicky := funcStage(func(ctx context.Context, b *Batch) error { panic("decoder bug") })
	p := newTestPipeline(&countSource{batches: 3, size: 1}, &collectSink{},
		StageInstance{Name: "panicky", Stage: panicky, Workers: 2})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stage panicky: panic: decoder bug") {
		t.Fatalf("Run error = %v, want the panic reported for stage panicky", err)
	}
}

func TestRunSinkErrorStopsSource(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := &countSource{batches: 1_000_000, size: 1}
	p := newTestPipeline(src, &collectSink{err: errors.New("disk full")})
	err := p.Run(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "stage sink: disk full") {
		t.Fatalf("Run error = %v, want the sink's error", err)
	}
	if n := src.emitted.Load(); n > 100 {
		t.Errorf("source emitted %d batches after the sink failed", n)
	}
}

func TestRunBackpressureBoundsInFlight(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := &countSource{batches: 60, size: 1}
	sink := &collectSink{delay: 2 * time.Millisecond}
	var maxAhead int64
	probe := funcStage(func(ctx context.Context, b *Batch) error {
		sink.mu.Lock()
		written := int64(len(sink.seqs))
		sink.mu.Unlock()
		if ahead := src.emitted.Load() - written; ahead > atomic.LoadInt64(&maxAhead) {
			atomic.StoreInt64(&maxAhead, ahead)
		}
		return nil
	})
	p := newTestPipeline(src, sink, StageInstance{Name: "probe", Stage: probe, Workers: 2})
	p.QueueDepth = 2
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Two channels of depth 2, two pool slots, and one batch in the hands
	// of each goroutine bound what the source can run ahead of the sink.
	if maxAhead > 10 {
		t.Errorf("source ran %d batches ahead of a slow sink; backpressure is missing", maxAhead)
	}
}

func TestRunCancelled(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	sink := &collectSink{delay: time.Millisecond}
	stop := funcStage(func(_ context.Context, b *Batch) error {
		if b.Seq == 5 {
			cancel()
		}
		return nil
	})
	p := newTestPipeline(&countSource{batches: 100000, size: 1}, sink,
		StageInstance{Name: "stop", Stage: stop, Workers: 2})
	err := p.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if sink.closed {
		t.Error("sink closed after a cancelled run")
	}
}

// orderCheckingStage records the order of its serial Process calls and
// checks that Prepare ran on each batch before Process.
type orderCheckingStage struct {
	mu       sync.Mutex
	prepared map[uint64]bool
	order    []uint64
	workers  atomic.Int32
	maxPar   atomic.Int32
}

func (s *orderCheckingStage) Prepare(_ context.Context, b *Batch) error {
	n := s.workers.Add(1)
	defer s.workers.Add(-1)
	if n > s.maxPar.Load() {
		s.maxPar.Store(n)
	}
	time.Sleep(time.Duration(3-b.Seq%3) * time.Millisecond)
	s.mu.Lock()
	s.prepared[b.Seq] = true
	s.mu.Unlock()
	return nil
}

func (s *orderCheckingStage) Process(_ context.Context, b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.prepared[b.Seq] {
		return fmt.Errorf("batch %d processed before it was prepared", b.Seq)
	}
	s.order = append(s.order, b.Seq)
	return nil
}

func TestRunPreparerKeepsProcessSerial(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, workers := range []int{1, 3} {
		st := &orderCheckingStage{prepared: map[uint64]bool{}}
		p := newTestPipeline(&countSource{batches: 30, size: 2}, &collectSink{},
			StageInstance{Name: "prep", Stage: st, Workers: workers})
		if err := p.Run(context.Background()); err != nil {
			t.Fatalf("workers=%d: Run: %v", workers, err)
		}
		for i, seq := range st.order {
			if seq != uint64(i) {
				t.Fatalf("workers=%d: Process call %d got batch %d", workers, i, seq)
			}
		}
		if len(st.order) != 30 {
			t.Errorf("workers=%d: Process ran %d times, want 30", workers, len(st.order))
		}
		if workers > 1 && st.maxPar.Load() < 2 {
			t.Errorf("workers=%d: Prepare never ran on two batches at once", workers)
		}
	}
}
