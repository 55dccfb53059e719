package stages

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// keptStore keeps, for every document near_dedup indexed as kept, a
// fixed-size payload (its signature cut to 16-bit values, or its SimHash)
// and its id, in an unlinked temporary file. Memory holds only one 8-byte
// offset per document: the payloads are read back only to verify LSH
// candidates and to name a duplicate's twin, which is rare next to
// indexing, and the operating system's page cache serves the recent ones.
// This keeps the stage at the LSH index's ~88 bytes plus 8 bytes per kept
// document instead of 224 more for each signature.
type keptStore struct {
	file    *os.File
	w       *bufio.Writer
	payload int      // bytes of each record's payload
	offsets []uint64 // start of each record; a record ends where the next starts
	size    uint64   // bytes appended so far
	flushed uint64   // bytes written through to the file
	buf     []byte
}

// newKeptStore creates the store's file in dir (the system's temporary
// folder when dir is "") and unlinks it at once, so the system frees it
// when the process ends, a crash included.
func newKeptStore(dir string, payload int) (*keptStore, error) {
	f, err := os.CreateTemp(dir, "winnow-near-dedup-*")
	if err != nil {
		return nil, fmt.Errorf("creating the near_dedup signature file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("creating the near_dedup signature file: %w", err)
	}
	return &keptStore{file: f, w: bufio.NewWriterSize(f, 1<<20), payload: payload}, nil
}

// add appends the record of the next kept document.
func (s *keptStore) add(payload []byte, id string) error {
	if len(payload) != s.payload {
		return fmt.Errorf("near_dedup: payload of %d bytes, want %d", len(payload), s.payload)
	}
	s.offsets = append(s.offsets, s.size)
	if _, err := s.w.Write(payload); err != nil {
		return err
	}
	if _, err := s.w.WriteString(id); err != nil {
		return err
	}
	s.size += uint64(len(payload) + len(id))
	return nil
}

// len returns the number of records.
func (s *keptStore) len() int { return len(s.offsets) }

// read returns record i's payload and id. The payload aliases a buffer that
// the next read overwrites.
func (s *keptStore) read(i uint32) ([]byte, string, error) {
	start := s.offsets[i]
	end := s.size
	if int(i)+1 < len(s.offsets) {
		end = s.offsets[i+1]
	}
	if end > s.flushed {
		if err := s.w.Flush(); err != nil {
			return nil, "", err
		}
		s.flushed = s.size
	}
	s.buf = append(s.buf[:0], make([]byte, end-start)...)
	if _, err := s.file.ReadAt(s.buf, int64(start)); err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("reading the near_dedup signature file: %w", err)
	}
	return s.buf[:s.payload], string(s.buf[s.payload:]), nil
}

// close releases the file.
func (s *keptStore) close() error { return s.file.Close() }
