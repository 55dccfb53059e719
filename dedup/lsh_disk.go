package dedup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// DiskLSHIndex is a MinHash LSH index for corpora whose index does not fit
// in memory. Its methods keep the contracts of LSHIndex, and it returns the
// same candidates, false ones included, because it also keeps only the top
// 32 bits of each band key.
//
// It is a log-structured merge tree. Inserts go to an in-memory buffer of
// one hash table per band. When the buffer is three quarters full, its
// entries are sorted and written to an immutable run file, band after
// band. Each run keeps in memory one fence key per 4 KiB block, so a query
// reads one block per band and run, and a second one only when the key's
// entries cross the block's end. When there are more than 8 runs, a
// streaming k-way merge turns the newest ones into one. It starts at the
// oldest run that contains no more entries than all runs after it
// together, so large old runs are rewritten rarely. Blocks are read with
// ReadAt, and the operating system's page cache keeps the hot ones.
//
// Memory: the buffer takes about memoryBytes, and never less than 512
// bytes per band. The fence keys take 8 bytes per 512 entries, 0.22 bytes
// per document with 14 bands. A merge allocates 64 KiB per input run and
// 64 KiB for its output while it runs. Disk: 8 bytes per document and
// band, and up to twice as much during a merge.
//
// Speed: one query and one insert per document ran at about 12,600
// documents/s while the index grew to 2 million documents with a 16 MiB
// buffer, against 540,000 for LSHIndex (BenchmarkDiskLSHInsertQuery with
// -benchtime=2000000x, one core of a shared AMD EPYC virtual machine, run
// files in the page cache). Each entry was written 1.9 times. A CPU
// profile puts about 80% of the time in pread, one call per band and run.
//
// TODO: a small per-run filter would skip most block reads of keys that a
// run lacks. The numbers above are not measured with runs larger than the
// page cache.
//
// After an I/O error, Insert and AppendCandidates return that error, and
// Close still removes the files. A DiskLSHIndex is not safe for concurrent use.
type DiskLSHIndex struct {
	dir      string    // temporary directory of the run files
	buffer   []lshBand // one per band, of which only the slots are used
	buffered int       // documents in the buffer
	limit    int       // buffered documents that trigger a flush
	runs     []*lshRun // oldest first
	nextRun  int       // sequence number of the next run file
	docs     int
	written  int64 // entries written to run files, merges included
	block    [runBlockBytes]byte
	err      error // first I/O error, or errIndexClosed after Close
}

var _ Index = (*DiskLSHIndex)(nil)

const (
	runEntryBytes    = 8 // fingerprint<<32 | doc, little endian
	runBlockBytes    = 4096
	runBlockEntries  = runBlockBytes / runEntryBytes
	maxRuns          = 8
	minDiskSlots     = 64
	mergeBufferBytes = 64 << 10
)

var errIndexClosed = errors.New("dedup: disk LSH index is closed")

// NewDiskLSHIndex returns an empty index for signatures of the given
// number of bands, which keeps its files in a new directory under dir and
// buffers inserts in about memoryBytes of memory.
func NewDiskLSHIndex(dir string, bands int, memoryBytes int) (*DiskLSHIndex, error) {
	if bands < 1 || bands > 1024 {
		return nil, fmt.Errorf("dedup: invalid LSH band count %d: must be 1 to 1024", bands)
	}
	if memoryBytes < 1 {
		return nil, fmt.Errorf("dedup: invalid LSH buffer size %d bytes: must be positive", memoryBytes)
	}
	tmp, err := os.MkdirTemp(dir, "winnow-lsh-")
	if err != nil {
		return nil, fmt.Errorf("dedup: creating LSH index directory: %w", err)
	}

	slots := max(minDiskSlots, memoryBytes/(8*bands))
	x := &DiskLSHIndex{dir: tmp, buffer: make([]lshBand, bands), limit: 3 * slots / 4}
	for i := range x.buffer {
		x.buffer[i].slots = newSlots(slots)
	}
	return x, nil
}

// Insert adds doc under its band keys, as MinHasher.AppendBandKeys returns
// them. Keys of a signature without values are empty: such a document is
// not inserted and will never be a candidate. Insert writes a run file
// when the buffer is full and may merge runs.
func (x *DiskLSHIndex) Insert(doc uint32, keys []uint64) error {
	if err := x.check(doc, keys); err != nil || len(keys) == 0 {
		return err
	}
	for i, key := range keys {
		x.buffer[i].put(fingerprint(key), doc)
	}
	x.buffered++
	x.docs++
	if x.buffered >= x.limit {
		return x.flush()
	}
	return nil
}

// AppendCandidates appends to dst, in ascending order and without repeats,
// every inserted document that shares a band key with keys, except doc
// itself, and returns the extended slice. On an error it returns dst
// unchanged.
func (x *DiskLSHIndex) AppendCandidates(dst []uint32, doc uint32, keys []uint64) ([]uint32, error) {
	if err := x.check(doc, keys); err != nil {
		return dst, err
	}
	start := len(dst)
	for band, key := range keys {
		fp := fingerprint(key)
		dst = x.buffer[band].appendMatches(dst, &lshProbe{fp: fp})
		for _, r := range x.runs {
			var err error
			if dst, err = r.appendMatches(dst, x.block[:], band, fp); err != nil {
				return dst[:start], x.fail(fmt.Errorf("dedup: reading LSH run %s: %w", r.path, err))
			}
		}
	}

	found := dst[start:]
	slices.Sort(found)
	found = slices.Compact(found)
	if i, ok := slices.BinarySearch(found, doc); ok {
		found = slices.Delete(found, i, i+1)
	}
	return dst[:start+len(found)], nil
}

// Len returns the number of documents inserted with keys.
func (x *DiskLSHIndex) Len() int { return x.docs }

// Bytes returns the heap bytes the index holds: the buffer, the fence keys
// and a block buffer. It leaves out what merges hold while they run.
func (x *DiskLSHIndex) Bytes() int {
	n := len(x.block)
	for i := range x.buffer {
		n += 8 * cap(x.buffer[i].slots)
	}
	for _, r := range x.runs {
		n += 8*cap(r.fence) + 8*cap(r.bandStart)
	}
	return n
}

// Close closes and removes the index's files and directory. Later calls
// of the other methods return an error, and later calls of Close do
// nothing.
func (x *DiskLSHIndex) Close() error {
	if x.dir == "" {
		return nil
	}
	var errs []error
	for _, r := range x.runs {
		errs = append(errs, r.file.Close())
	}
	errs = append(errs, os.RemoveAll(x.dir))
	x.dir, x.runs, x.buffer, x.err = "", nil, nil, errIndexClosed
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dedup: removing LSH index files: %w", err)
	}
	return nil
}

func (x *DiskLSHIndex) check(doc uint32, keys []uint64) error {
	if x.err != nil {
		return x.err
	}
	if len(keys) != 0 && len(keys) != len(x.buffer) {
		return fmt.Errorf("dedup: got %d band keys for an LSH index of %d bands", len(keys), len(x.buffer))
	}
	if doc == math.MaxUint32 {
		return ErrReservedDoc
	}
	return nil
}

// fail records the first I/O error. The buffer or the list of runs may be
// half changed by then, so every later call returns the error.
func (x *DiskLSHIndex) fail(err error) error {
	if x.err == nil {
		x.err = err
	}
	return err
}

// flush writes the buffer as a new run and empties it. It sorts each
// band's entries inside the band's own slots, so it needs no extra memory.
func (x *DiskLSHIndex) flush() error {
	w, err := x.createRun()
	if err != nil {
		return x.fail(err)
	}
	for band := range x.buffer {
		slots := x.buffer[band].slots
		n := 0
		for _, e := range slots {
			if e != emptySlot {
				slots[n] = e
				n++
			}
		}
		slices.Sort(slots[:n])
		for _, e := range slots[:n] {
			w.add(band, e)
		}
		for i := range slots {
			slots[i] = emptySlot
		}
	}
	run, err := x.finishRun(w)
	if err != nil {
		return err
	}
	x.runs = append(x.runs, run)
	x.buffered = 0
	return x.compact()
}

// compact merges runs once there are more than maxRuns of them.
func (x *DiskLSHIndex) compact() error {
	if len(x.runs) <= maxRuns {
		return nil
	}
	from := mergeStart(x.runs)
	w, err := x.createRun()
	if err != nil {
		return x.fail(err)
	}
	if err := mergeRuns(w, x.runs[from:], len(x.buffer)); err != nil {
		w.abort()
		return x.fail(fmt.Errorf("dedup: merging LSH runs: %w", err))
	}
	merged, err := x.finishRun(w)
	if err != nil {
		return err
	}

	// The merged run replaces its inputs only once it is complete, so
	// Close finds every open file in x.runs.
	inputs := x.runs[from:]
	x.runs = append(slices.Clone(x.runs[:from]), merged)
	for _, r := range inputs {
		if err := r.remove(); err != nil {
			return x.fail(err)
		}
	}
	return nil
}

// mergeStart returns the first of the runs to merge: the oldest run that
// holds no more entries than all newer runs together, or else the second
// newest. Merging from there leaves at most len(runs)-1 runs.
func mergeStart(runs []*lshRun) int {
	start := len(runs) - 2
	var newer int64
	for k := len(runs) - 2; k >= 0; k-- {
		newer += runs[k+1].entries()
		if runs[k].entries() <= newer {
			start = k
		}
	}
	return start
}

// mergeRuns writes the entries of runs to w in order, band by band. Ties
// go to the older run, so the output does not depend on map or heap order.
func mergeRuns(w *runWriter, runs []*lshRun, bands int) error {
	cursors := make([]*runCursor, len(runs))
	for i, r := range runs {
		section := io.NewSectionReader(r.file, 0, r.entries()*runEntryBytes)
		cursors[i] = &runCursor{run: r, in: bufio.NewReaderSize(section, mergeBufferBytes)}
	}
	for band := range bands {
		for _, c := range cursors {
			if err := c.startBand(band); err != nil {
				return err
			}
		}
		for {
			best := -1
			for i, c := range cursors {
				if c.left > 0 && (best < 0 || c.head < cursors[best].head) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			w.add(band, cursors[best].head)
			if err := cursors[best].advance(); err != nil {
				return err
			}
		}
	}
	return nil
}

// runCursor reads one run's entries in order during a merge.
type runCursor struct {
	run  *lshRun
	in   *bufio.Reader
	head uint64 // next entry of the current band, valid while left > 0
	left int64  // entries of the current band not yet taken, head included
	buf  [runEntryBytes]byte
}

func (c *runCursor) startBand(band int) error {
	c.left = c.run.bandStart[band+1] - c.run.bandStart[band]
	return c.load()
}

func (c *runCursor) advance() error {
	c.left--
	return c.load()
}

func (c *runCursor) load() error {
	if c.left == 0 {
		return nil
	}
	if _, err := io.ReadFull(c.in, c.buf[:]); err != nil {
		return fmt.Errorf("reading %s: %w", c.run.path, err)
	}
	c.head = binary.LittleEndian.Uint64(c.buf[:])
	return nil
}

// put adds an entry to the band's open-addressing slots. The caller
// flushes them before they fill up.
func (b *lshBand) put(fp uint32, doc uint32) {
	i := b.home(fp)
	for b.slots[i] != emptySlot {
		i = b.next(i)
	}
	b.slots[i] = uint64(fp)<<32 | uint64(doc)
}

// lshRun is an immutable run file. It contains 8-byte entries, fingerprint<<32
// | doc, band after band, and each band's entries in ascending order.
type lshRun struct {
	file      *os.File
	path      string
	bandStart []int64  // band b has entries [bandStart[b], bandStart[b+1])
	fence     []uint64 // band<<32 | fingerprint of each block's last entry
}

func (r *lshRun) entries() int64 { return r.bandStart[len(r.bandStart)-1] }

// appendMatches appends the documents of the run's entries with
// fingerprint fp in band. buf is scratch space of runBlockBytes. The key's
// entries start in the first block whose last key is not below it, and
// continue into the next block only while a block ends with the key.
func (r *lshRun) appendMatches(dst []uint32, buf []byte, band int, fp uint32) ([]uint32, error) {
	lo, hi := r.bandStart[band], r.bandStart[band+1]
	if lo == hi {
		return dst, nil
	}
	key := uint64(band)<<32 | uint64(fp)
	blk, _ := slices.BinarySearch(r.fence, key)
	for ; blk < len(r.fence); blk++ {
		first := int64(blk) * runBlockEntries
		last := min(first+runBlockEntries, r.entries())
		block := buf[:(last-first)*runEntryBytes]
		if _, err := r.file.ReadAt(block, first*runEntryBytes); err != nil {
			return dst, err
		}
		dst = appendBlockMatches(dst, block, int(max(lo, first)-first), int(min(hi, last)-first), fp)
		if r.fence[blk] != key {
			break
		}
	}
	return dst, nil
}

// appendBlockMatches appends the documents of entries [from, to) of block
// whose fingerprint is fp. Those entries are in ascending order.
func appendBlockMatches(dst []uint32, block []byte, from, to int, fp uint32) []uint32 {
	entry := func(i int) uint64 { return binary.LittleEndian.Uint64(block[i*runEntryBytes:]) }
	i := from + sort.Search(max(0, to-from), func(j int) bool {
		return uint32(entry(from+j)>>32) >= fp
	})
	for ; i < to; i++ {
		e := entry(i)
		if uint32(e>>32) != fp {
			break
		}
		dst = append(dst, uint32(e))
	}
	return dst
}

// remove closes and deletes the run's file.
func (r *lshRun) remove() error {
	err := r.file.Close()
	if rmErr := os.Remove(r.path); err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("dedup: removing LSH run: %w", err)
	}
	return nil
}

// runWriter writes a run file and builds its fence keys. It takes entries
// band by band, in ascending order within a band.
type runWriter struct {
	run     *lshRun
	out     *bufio.Writer
	n       int64  // entries written
	band    int    // band of the last entry
	lastKey uint64 // band<<32 | fingerprint of the last entry
	scratch [runEntryBytes]byte
}

// createRun creates the next run file and a writer for it.
func (x *DiskLSHIndex) createRun() (*runWriter, error) {
	path := filepath.Join(x.dir, fmt.Sprintf("run-%06d.lsh", x.nextRun))
	x.nextRun++
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dedup: creating LSH run: %w", err)
	}
	run := &lshRun{file: f, path: path, bandStart: make([]int64, len(x.buffer)+1)}
	return &runWriter{run: run, out: bufio.NewWriterSize(f, mergeBufferBytes)}, nil
}

// finishRun completes the run that w writes and counts its entries.
func (x *DiskLSHIndex) finishRun(w *runWriter) (*lshRun, error) {
	run, err := w.finish()
	if err != nil {
		return nil, x.fail(err)
	}
	x.written += run.entries()
	return run, nil
}

// add appends an entry of band. Write errors stay in the bufio.Writer
// until finish reports them.
func (w *runWriter) add(band int, e uint64) {
	for w.band < band {
		w.band++
		w.run.bandStart[w.band] = w.n
	}
	binary.LittleEndian.PutUint64(w.scratch[:], e)
	w.out.Write(w.scratch[:])
	w.n++
	w.lastKey = uint64(band)<<32 | e>>32
	if w.n%runBlockEntries == 0 {
		w.run.fence = append(w.run.fence, w.lastKey)
	}
}

// finish flushes the file and returns the run, open for reading. It
// removes the file on an error.
func (w *runWriter) finish() (*lshRun, error) {
	for w.band+1 < len(w.run.bandStart) {
		w.band++
		w.run.bandStart[w.band] = w.n
	}
	if w.n%runBlockEntries != 0 {
		w.run.fence = append(w.run.fence, w.lastKey)
	}
	if err := w.out.Flush(); err != nil {
		w.abort()
		return nil, fmt.Errorf("dedup: writing LSH run %s: %w", w.run.path, err)
	}
	return w.run, nil
}

// abort closes and deletes an unfinished run file. The index has failed
// by then, so only Close's error matters.
func (w *runWriter) abort() { _ = w.run.remove() }
