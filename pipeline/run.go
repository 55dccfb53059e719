package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// DefaultQueueDepth is the capacity, in batches, of the channel in front of
// each stage.
const DefaultQueueDepth = 4

// StageInstance is a built stage placed in a pipeline.
type StageInstance struct {
	Name    string
	Stage   Stage
	Workers int // > 1 only for stages whose Spec is Concurrent
	Env     Env
}

// Pipeline links a source, stages and a sink. Build one, then call Run once.
type Pipeline struct {
	Source    Source
	SourceEnv Env
	Stages    []StageInstance
	Sink      Sink
	SinkEnv   Env
	// QueueDepth is the channel capacity between stages, in batches
	// (default DefaultQueueDepth).
	QueueDepth int
	Logger     *slog.Logger

	metrics *Metrics
}

// StageError is the error of a run that a stage, the source or the sink
// stopped.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return "stage " + e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// Metrics returns the run's metrics, creating them on first use so a
// metrics server can register them before Run starts.
func (p *Pipeline) Metrics() *Metrics {
	if p.metrics == nil {
		p.metrics = &Metrics{}
		p.metrics.add("source", 1, p.SourceEnv.Events)
		for _, s := range p.Stages {
			p.metrics.add(s.Name, max(s.Workers, 1), s.Env.Events)
		}
		p.metrics.add("sink", 1, p.SinkEnv.Events)
	}
	return p.metrics
}

// Run moves every batch from the source through the stages into the sink.
// It returns the first error, as a *StageError naming where it happened,
// after every goroutine has stopped. Closing the sink is part of a
// successful run; after an error the sink is not closed.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	depth := p.QueueDepth
	if depth <= 0 {
		depth = DefaultQueueDepth
	}
	ms := p.Metrics()
	ms.Start = time.Now()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(stage string, err error) {
		errOnce.Do(func() {
			firstErr = &StageError{Stage: stage, Err: err}
			cancel(firstErr)
		})
	}

	// Channels: chans[0] leaves the source, chans[i+1] leaves stage i.
	chans := make([]chan *Batch, len(p.Stages)+1)
	for i := range chans {
		chans[i] = make(chan *Batch, depth)
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chans[0])
		m := ms.Stages[0]
		emit := func(b *Batch) error {
			m.DocsOut.Add(int64(b.LiveCount()))
			m.BytesOut.Add(b.LiveTextBytes())
			return send(ctx, chans[0], b, m)
		}
		// The source's busy time is its run time less the time it waited
		// for the first stage, so reading and decoding show as busy.
		start := time.Now()
		err := p.Source.Run(ctx, emit)
		m.busy.Add(int64(time.Since(start)) - m.blockedOut.Load())
		if err != nil && ctx.Err() == nil {
			fail("source", err)
		}
	}()

	for i, s := range p.Stages {
		m := ms.Stages[i+1]
		in, out := chans[i], chans[i+1]
		m.queue = func() int { return len(in) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(out)
			var err error
			if s.Workers > 1 {
				err = runPool(ctx, s, in, out, m)
			} else {
				err = runSerial(ctx, s, in, out, m)
			}
			if err == nil {
				if c, ok := s.Stage.(Closer); ok {
					err = c.Close(ctx)
				}
			}
			if err != nil && ctx.Err() == nil {
				fail(s.Name, err)
			}
		}()
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		m := ms.Stages[len(ms.Stages)-1]
		last := chans[len(chans)-1]
		m.queue = func() int { return len(last) }
		for {
			b, ok := recv(ctx, last, m)
			if !ok {
				break
			}
			observeIn(m, b)
			start := time.Now()
			m.startWork(start)
			err := p.Sink.Write(ctx, b)
			m.endWork(start)
			if err != nil {
				fail("sink", err)
				return
			}
			m.DocsOut.Add(int64(b.LiveCount()))
			m.BytesOut.Add(b.LiveTextBytes())
			b.Release()
		}
		if ctx.Err() != nil {
			return
		}
		if err := p.Sink.Close(ctx); err != nil {
			fail("sink", err)
		}
	}()

	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// A cancelled parent context that no stage reported as an error.
	return context.Cause(ctx)
}

// send hands b to the next stage, counting the time it waits.
func send(ctx context.Context, out chan<- *Batch, b *Batch, m *StageMetrics) error {
	start := time.Now()
	defer func() { m.blockedOut.Add(int64(time.Since(start))) }()
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// recv takes the next batch, counting the time it waits. It returns false
// when the channel is closed or ctx is done.
func recv(ctx context.Context, in <-chan *Batch, m *StageMetrics) (*Batch, bool) {
	start := time.Now()
	defer func() { m.waitIn.Add(int64(time.Since(start))) }()
	select {
	case b, ok := <-in:
		return b, ok
	case <-ctx.Done():
		return nil, false
	}
}

func observeIn(m *StageMetrics, b *Batch) {
	m.DocsIn.Add(int64(b.LiveCount()))
	m.BytesIn.Add(b.LiveTextBytes())
}

// process runs the stage on one batch and counts what it dropped. A panic in
// the stage, for example in a third-party decoder, becomes an error.
func process(ctx context.Context, s StageInstance, b *Batch, m *StageMetrics) (err error) {
	alive := make([]bool, b.Len())
	for i := range alive {
		alive[i] = b.Alive(i)
	}
	start := time.Now()
	m.startWork(start)
	defer func() {
		m.endWork(start)
		if r := recover(); r != nil {
			s.Env.Logger.Error("stage panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if err := s.Stage.Process(ctx, b); err != nil {
		return err
	}
	var drops map[string]int64
	for i, was := range alive {
		if was && !b.Alive(i) {
			if drops == nil {
				drops = map[string]int64{}
			}
			drops[b.Dropped[i]]++
		}
	}
	m.addDrops(drops)
	return nil
}

// prepare runs the stage's Prepare on one batch, turning a panic into an
// error as process does.
func prepare(ctx context.Context, s StageInstance, b *Batch, m *StageMetrics) (err error) {
	start := time.Now()
	m.startWork(start)
	defer func() {
		m.endWork(start)
		if r := recover(); r != nil {
			s.Env.Logger.Error("stage panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.Stage.(Preparer).Prepare(ctx, b)
}

func passOn(ctx context.Context, out chan<- *Batch, b *Batch, m *StageMetrics) error {
	m.DocsOut.Add(int64(b.LiveCount()))
	m.BytesOut.Add(b.LiveTextBytes())
	return send(ctx, out, b, m)
}

func runSerial(ctx context.Context, s StageInstance, in <-chan *Batch, out chan<- *Batch, m *StageMetrics) error {
	for {
		b, ok := recv(ctx, in, m)
		if !ok {
			return ctx.Err()
		}
		observeIn(m, b)
		if _, ok := s.Stage.(Preparer); ok {
			if err := prepare(ctx, s, b, m); err != nil {
				return err
			}
		}
		if err := process(ctx, s, b, m); err != nil {
			return err
		}
		if err := passOn(ctx, out, b, m); err != nil {
			return err
		}
	}
}

// runPool runs s on up to s.Workers batches at once and passes the results
// on in the order the batches arrived. For a Preparer, the workers run
// Prepare and Process runs here, one batch at a time in order. At most s.Workers batches are in
// flight, so the pool adds no unbounded buffering.
func runPool(ctx context.Context, s StageInstance, in <-chan *Batch, out chan<- *Batch, m *StageMetrics) error {
	type result struct {
		b   *Batch
		err error
	}
	type job struct {
		b    *Batch
		done chan result
	}
	jobs := make(chan job)
	pending := make(chan chan result, s.Workers)

	// The pool's own context stops the dispatcher when this function returns
	// early; it is cancelled before the workers are awaited.
	var workers sync.WaitGroup
	defer workers.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range s.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				var err error
				if _, ok := s.Stage.(Preparer); ok {
					err = prepare(ctx, s, j.b, m)
				} else {
					err = process(ctx, s, j.b, m)
				}
				j.done <- result{j.b, err}
			}
		}()
	}

	go func() {
		defer close(jobs)
		defer close(pending)
		for {
			b, ok := recv(ctx, in, m)
			if !ok {
				return
			}
			observeIn(m, b)
			done := make(chan result, 1)
			select {
			case pending <- done:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{b, done}:
			case <-ctx.Done():
				return
			}
		}
	}()

	for done := range pending {
		var r result
		select {
		case r = <-done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if r.err != nil {
			return r.err
		}
		if _, ok := s.Stage.(Preparer); ok {
			if err := process(ctx, s, r.b, m); err != nil {
				return err
			}
		}
		if err := passOn(ctx, out, r.b, m); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}
