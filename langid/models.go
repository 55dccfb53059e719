package langid

import (
	"archive/zip"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/pemistahl/lingua-go"
	"google.golang.org/protobuf/encoding/protowire"
)

// linguaModelFS is lingua's embedded folder language-models/, which holds
// ISO-639-1-CODE/ORDERs.pb.bin.zip for each language and n-gram order.
// lingua-go v1.4.0 does not export it, and reading it through the module
// cache would tie the binary to the machine it was built on.
//
// NOTE: this pulls an unexported variable by name, so it is tied to
// lingua-go v1.4.0. A version that renames the variable fails to link,
// and TestModelFilesPresent fails if the folder's layout changes.
//
//go:linkname linguaModelFS github.com/pemistahl/lingua-go.languageModels
var linguaModelFS embed.FS

// orderNames are the file names of lingua's models by n-gram order.
var orderNames = [6]string{1: "unigrams", 2: "bigrams", 3: "trigrams", 4: "quadrigrams", 5: "fivegrams"}

// rowWidth is the number of values in a dense row: one per language, in
// the order of colOf.
const rowWidth = numLanguages

// bmp is the number of runes the charInfo table covers directly.
const bmp = 0x10000

// models holds lingua's models of orders 1 to 3 as dense rows of
// log-probabilities, one value per language, with lingua's back-off to
// lower orders already applied: a trigram's row holds, for a language
// without that trigram, the bigram value of its first two letters, or
// else the unigram value of its first letter, or else 0. A value of 0
// adds nothing to a sum, as in lingua, where an n-gram that no order of a
// language has is skipped.
//
// Orders 4 and 5 are posting lists, loaded on first use by high-accuracy
// detectors.
type models struct {
	info     [bmp]charInfo     // by rune, for the rune's lower-case form
	infoHigh map[rune]charInfo // the same for runes beyond the BMP that the models use

	rows        []float32 // unigram rows, then bigram rows, then trigram rows
	unigrams    ngramIndex
	bigrams     ngramIndex
	trigrams    ngramIndex
	bigramRow0  int // row of bigram ordinal 0
	trigramRow0 int
	runeOfID    []rune // rune of each character id

	highOnce sync.Once
	high     *highModels
	highErr  error
}

// highModels holds orders 4 and 5 as posting tables.
type highModels struct {
	quadrigrams postingTable
	fivegrams   postingTable
}

var (
	loadOnce   sync.Once
	loaded     *models
	loadingErr error
)

// loadModels returns the models of orders 1 to 3, reading them on the
// first call.
func loadModels() (*models, error) {
	loadOnce.Do(func() { loaded, loadingErr = readModels() })
	return loaded, loadingErr
}

// highOrders returns the models of orders 4 and 5, reading them on the
// first call.
func (m *models) highOrders() (*highModels, error) {
	m.highOnce.Do(func() { m.high, m.highErr = m.readHighOrders() })
	return m.high, m.highErr
}

func readModels() (*models, error) {
	m := &models{infoHigh: map[rune]charInfo{}}
	charIDs := map[rune]uint64{}

	// Character ids are given in reading order, so this part is serial.
	var orders [4]entries
	for lang := 0; lang < numLanguages; lang++ {
		for order := 1; order <= 3; order++ {
			var c chunk
			err := readModel(lingua.Language(lang), order, func(ngram string, p float64) error {
				key, err := assignKey(ngram, order, charIDs, m)
				if err != nil {
					return err
				}
				post, err := makePosting(lang, p)
				if err != nil {
					return err
				}
				c.add(key, post)
				return nil
			})
			if err != nil {
				return nil, err
			}
			orders[order].chunks = append(orders[order].chunks, c)
		}
	}
	if len(m.runeOfID) >= 1<<10 {
		return nil, fmt.Errorf("lingua's models use %d letters in n-grams of 2 or more, more than the 1023 a key holds", len(m.runeOfID)-1)
	}

	uni, bi, tri := orders[1].build(), orders[2].build(), orders[3].build()
	m.unigrams, m.bigrams, m.trigrams = uni.index, bi.index, tri.index
	m.bigramRow0 = len(uni.index.keys)
	m.trigramRow0 = m.bigramRow0 + len(bi.index.keys)
	m.rows = make([]float32, (m.trigramRow0+len(tri.index.keys))*rowWidth)
	m.fillUnigramRows(&uni)
	m.fillBackedOffRows(&bi, m.bigramRow0, 2)
	m.fillBackedOffRows(&tri, m.trigramRow0, 3)

	m.fillInfo(charIDs)
	return m, nil
}

// assignKey returns the key of ngram of the given order: the rune itself
// for unigrams, else the character ids packed 10 bits each, first letter
// highest. It gives ids to letters not seen before.
func assignKey(ngram string, order int, ids map[rune]uint64, m *models) (uint64, error) {
	if utf8.RuneCountInString(ngram) != order {
		return 0, fmt.Errorf("n-gram %q in the %s model has %d letters", ngram, orderNames[order], utf8.RuneCountInString(ngram))
	}
	if order == 1 {
		r, _ := utf8.DecodeRuneInString(ngram)
		return uint64(r), nil
	}
	var key uint64
	for _, r := range ngram {
		id, ok := ids[r]
		if !ok {
			if len(m.runeOfID) == 0 {
				m.runeOfID = append(m.runeOfID, 0) // id 0 means no id
			}
			id = uint64(len(m.runeOfID))
			ids[r] = id
			m.runeOfID = append(m.runeOfID, r)
		}
		key = key<<10 | id&(1<<10-1)
	}
	return key, nil
}

// fillUnigramRows writes each unigram's postings into its row.
func (m *models) fillUnigramRows(t *postingTable) {
	for ord := range t.index.keys {
		row := m.rows[ord*rowWidth : (ord+1)*rowWidth]
		for _, p := range t.postings(ord) {
			row[colOf[postingLang(p)]] = postingLogProb(p)
		}
	}
}

// fillBackedOffRows writes the rows of the bigrams or trigrams of t,
// starting at row first: each language's own value where it has the
// n-gram, else the row of the (order-1)-letter prefix.
func (m *models) fillBackedOffRows(t *postingTable, first, order int) {
	var have [numLanguages]bool
	for ord, key := range t.index.keys {
		row := m.rows[(first+ord)*rowWidth : (first+ord+1)*rowWidth]
		have = [numLanguages]bool{}
		for _, p := range t.postings(ord) {
			col := colOf[postingLang(p)]
			row[col] = postingLogProb(p)
			have[col] = true
		}
		prefix := m.prefixRow(key, order)
		if prefix == nil {
			continue
		}
		for col, v := range prefix {
			if !have[col] {
				row[col] = v
			}
		}
	}
}

// prefixRow returns the row that an n-gram of the given order backs off
// to: that of its (order-1)-letter prefix, or nil when no model has any
// prefix.
func (m *models) prefixRow(key uint64, order int) []float32 {
	if order == 3 {
		if ord := m.bigrams.find(key >> 10); ord >= 0 {
			return m.row(m.bigramRow0 + ord)
		}
	}
	first := m.runeOfID[key>>(10*(order-1))]
	if ord := m.unigrams.find(uint64(first)); ord >= 0 {
		return m.row(ord)
	}
	return nil
}

func (m *models) row(r int) []float32 {
	return m.rows[r*rowWidth : (r+1)*rowWidth : (r+1)*rowWidth]
}

// fillInfo fills the charInfo table of the BMP and the map of the runes
// beyond it that a model uses.
func (m *models) fillInfo(ids map[rune]uint64) {
	modelFields := func(lower rune) charInfo {
		var info charInfo
		if ord := m.unigrams.find(uint64(lower)); ord >= 0 {
			info |= charInfo(ord + 1)
		}
		info |= charInfo(ids[lower]) << infoCharIDShift
		return info
	}
	cache := map[rune]charInfo{}
	for r := rune(0); r < bmp; r++ {
		lower := lowerRune(r)
		static, ok := cache[lower]
		if !ok {
			static = staticInfo(lower)
			cache[lower] = static
		}
		m.info[r] = static | modelFields(lower) | charInfo(lower)<<infoLowerShift
	}
	for _, key := range m.unigrams.keys {
		if r := rune(key); r >= bmp {
			m.infoHigh[r] = staticInfo(r) | modelFields(r)
		}
	}
	for r := range ids {
		if r >= bmp {
			m.infoHigh[r] = staticInfo(r) | modelFields(r)
		}
	}
}

// lookup returns the charInfo and lower-case form of r.
func (m *models) lookup(r rune) (charInfo, rune) {
	if r < bmp {
		info := m.info[r]
		return info, info.lower()
	}
	lower := lowerRune(r)
	if info, ok := m.infoHigh[lower]; ok {
		return info, lower
	}
	return staticInfo(lower), lower
}

// readHighOrders reads the models of orders 4 and 5, one language per
// goroutine with GOMAXPROCS at once, because unzipping and decoding them
// takes seconds.
func (m *models) readHighOrders() (*highModels, error) {
	var quadrigrams, fivegrams entries
	quadrigrams.chunks = make([]chunk, numLanguages)
	fivegrams.chunks = make([]chunk, numLanguages)
	errs := make([]error, numLanguages)

	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for lang := range numLanguages {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for order, c := range map[int]*chunk{4: &quadrigrams.chunks[lang], 5: &fivegrams.chunks[lang]} {
				errs[lang] = readModel(lingua.Language(lang), order, func(ngram string, p float64) error {
					key, err := m.existingKey(ngram, order)
					if err != nil {
						return err
					}
					post, err := makePosting(lang, p)
					if err != nil {
						return err
					}
					c.add(key, post)
					return nil
				})
				if errs[lang] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &highModels{quadrigrams: quadrigrams.build(), fivegrams: fivegrams.build()}, nil
}

// existingKey returns the key of an n-gram of order 4 or 5, whose letters
// must have ids already. Every letter of a 4- or 5-gram also occurs in
// the language's bigrams, so a missing id means the models are not what
// this package was written for.
func (m *models) existingKey(ngram string, order int) (uint64, error) {
	if utf8.RuneCountInString(ngram) != order {
		return 0, fmt.Errorf("n-gram %q in the %s model has %d letters", ngram, orderNames[order], utf8.RuneCountInString(ngram))
	}
	var key uint64
	for _, r := range ngram {
		info, _ := m.lookup(r)
		id := info.charID()
		if id == 0 || m.runeOfID[id] != r {
			return 0, fmt.Errorf("letter %q of the %s n-gram %q is in no bigram model", r, orderNames[order], ngram)
		}
		key = key<<10 | id
	}
	return key, nil
}

// readModel calls fn for every n-gram of lang's model of the given order
// and its probability. A language without a model of that order reads as
// empty; lingua has none beyond unigrams for the languages it identifies
// by script alone.
func readModel(lang lingua.Language, order int, fn func(ngram string, p float64) error) error {
	code := strings.ToLower(lang.IsoCode639_1().String())
	path := "language-models/" + code + "/" + orderNames[order] + ".pb.bin.zip"
	zipped, err := linguaModelFS.ReadFile(path)
	if err != nil {
		return nil
	}
	data, err := unzipFirst(zipped)
	if err != nil {
		return fmt.Errorf("reading lingua model %s: %w", path, err)
	}
	if err := parseModel(data, fn); err != nil {
		return fmt.Errorf("reading lingua model %s: %w", path, err)
	}
	return nil
}

func unzipFirst(zipped []byte) ([]byte, error) {
	z, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return nil, err
	}
	if len(z.File) == 0 {
		return nil, fmt.Errorf("empty zip file")
	}
	f, err := z.File[0].Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// parseModel decodes lingua's SerializableLanguageModel message (see
// serialization/model.proto in lingua-go) without building its strings:
// field 4 repeats SerializableNgramSet, whose field 1 is the probability
// (double) shared by the n-grams of field 2 (repeated string).
func parseModel(data []byte, fn func(ngram string, p float64) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if num != 4 || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			continue
		}
		set, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if err := parseNgramSet(set, fn); err != nil {
			return err
		}
	}
	return nil
}

func parseNgramSet(set []byte, fn func(ngram string, p float64) error) error {
	// The probability may follow the n-grams on the wire, so find it first.
	p := math.NaN()
	for rest := set; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return protowire.ParseError(n)
		}
		rest = rest[n:]
		if num == 1 && typ == protowire.Fixed64Type {
			v, _ := protowire.ConsumeFixed64(rest)
			p = math.Float64frombits(v)
		}
		n = protowire.ConsumeFieldValue(num, typ, rest)
		if n < 0 {
			return protowire.ParseError(n)
		}
		rest = rest[n:]
	}

	for len(set) > 0 {
		num, typ, n := protowire.ConsumeTag(set)
		set = set[n:]
		if num == 2 && typ == protowire.BytesType {
			s, n := protowire.ConsumeBytes(set)
			if err := fn(unsafeString(s), p); err != nil {
				return err
			}
			set = set[n:]
			continue
		}
		set = set[protowire.ConsumeFieldValue(num, typ, set):]
	}
	return nil
}

// unsafeString returns b as a string without copying it. The callbacks of
// parseModel must not keep the string.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
