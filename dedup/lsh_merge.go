package dedup

// merge moves the buffered entries into the compact part. Entries already
// in the compact part keep their bucket order, so they are copied by large
// memmoves. Only the buffered entries are sorted, by counting.
func (b *lshBand) merge() {
	n := len(b.rems) + b.count
	q := bucketBits(n)
	width := 3
	if b.maxDoc >= docWidth3Limit {
		width = 4
	}
	if b.offsets == nil || q != b.q || width != b.width {
		b.regroup(q, width)
	}

	offsets := make([]uint32, len(b.offsets))
	buffered := b.groupBuffer(offsets)
	rems := make([]uint16, n)
	docs := make([]byte, n*width)
	shift := 32 - b.q
	from, to := 0, 0
	for i := 0; i < len(buffered); {
		bucket := uint32(buffered[i]>>32) >> shift
		end := int(b.offsets[bucket+1])
		to += b.copyEntries(rems, docs, to, from, end)
		from = end
		for ; i < len(buffered) && uint32(buffered[i]>>32)>>shift == bucket; i++ {
			_, rems[to] = b.split(uint32(buffered[i] >> 32))
			putDoc(docs, to, width, uint32(buffered[i]))
			to++
		}
	}
	b.copyEntries(rems, docs, to, from, len(b.rems))

	for k := range offsets {
		offsets[k] += b.offsets[k]
	}
	b.offsets, b.rems, b.docs = offsets, rems, docs
	b.count = 0
	b.slots = newSlots(bufferSlots(n))
}

// groupBuffer returns the buffered entries grouped by bucket and sets
// before[k] to the number of them in buckets below k.
func (b *lshBand) groupBuffer(before []uint32) []uint64 {
	shift := 32 - b.q
	for _, e := range b.slots {
		if e != emptySlot {
			before[uint32(e>>32)>>shift+1]++
		}
	}
	for k := 1; k < len(before); k++ {
		before[k] += before[k-1]
	}
	grouped := make([]uint64, b.count)
	for _, e := range b.slots {
		if e != emptySlot {
			k := uint32(e>>32) >> shift
			grouped[before[k]] = e
			before[k]++
		}
	}
	// The scatter advanced before[k] to the end of bucket k; shift it back
	// to the start.
	copy(before[1:], before[:len(before)-1])
	before[0] = 0
	return grouped
}

// copyEntries copies compact entries [from, end) to position to of rems
// and docs, which use the same width, and returns the number copied.
func (b *lshBand) copyEntries(rems []uint16, docs []byte, to, from, end int) int {
	copy(rems[to:], b.rems[from:end])
	copy(docs[to*b.width:], b.docs[from*b.width:end*b.width])
	return end - from
}

// regroup rebuilds the compact part with q bucket bits and document numbers
// of width bytes. It runs when the index doubles past a bucket-size limit
// or the first document number reaches 2^24, so its cost is amortised.
func (b *lshBand) regroup(q uint, width int) {
	offsets := make([]uint32, 1<<q+1)
	rems := make([]uint16, len(b.rems))
	docs := make([]byte, len(b.rems)*width)
	next := &lshBand{q: q, offsets: offsets, rems: rems, docs: docs, width: width}

	b.eachEntry(func(fp, _ uint32) { offsets[fp>>(32-q)+1]++ })
	for k := 1; k < len(offsets); k++ {
		offsets[k] += offsets[k-1]
	}
	b.eachEntry(func(fp, doc uint32) {
		k := fp >> (32 - q)
		_, rems[offsets[k]] = next.split(fp)
		putDoc(docs, int(offsets[k]), width, doc)
		offsets[k]++
	})
	copy(offsets[1:], offsets[:len(offsets)-1])
	offsets[0] = 0

	b.q, b.offsets, b.rems, b.docs, b.width = q, offsets, rems, docs, width
}

// eachEntry calls f with the fingerprint and document of every compact
// entry.
func (b *lshBand) eachEntry(f func(fp, doc uint32)) {
	for k := 0; k+1 < len(b.offsets); k++ {
		for i := b.offsets[k]; i < b.offsets[k+1]; i++ {
			fp := uint32(k)<<(32-b.q) | uint32(b.rems[i])
			f(fp, b.doc(int(i)))
		}
	}
}

func putDoc(docs []byte, i, width int, doc uint32) {
	d := docs[i*width : (i+1)*width]
	d[0], d[1], d[2] = byte(doc), byte(doc>>8), byte(doc>>16)
	if width == 4 {
		d[3] = byte(doc >> 24)
	}
}
