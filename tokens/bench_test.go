package tokens

import "testing"

// BenchmarkTokens counts the tokens of each group of documents three ways:
// with tiktoken-go's Codec.Count ("tiktoken-go"), with a Counter
// ("counter"), and with a Counter whose piece cache is off
// ("counter-nocache"). The last is the speed on text whose pieces are all
// new to the cache. On the small groups (deu, rus, zho) the cache holds
// every piece after the first loop, so "counter" is a best case there.
//
// Besides MB/s of wall time it reports MB/cpu-s, the bytes counted per
// second of CPU time that the process used, which is steadier than wall
// time on a machine shared with other work.
func BenchmarkTokens(b *testing.B) {
	groups := benchGroups(b)
	for _, enc := range encodings {
		counter := newTestCounter(b, enc)
		uncached := *counter
		uncached.cache = nil
		codec := libraryCodec(b, enc)
		count := map[string]func(string) int{
			"tiktoken-go": func(s string) int {
				n, _ := codec.Count(s)
				return n
			},
			"counter":         counter.Count,
			"counter-nocache": uncached.Count,
		}
		for _, group := range []string{groupEng, groupDeu, groupRus, groupZho, groupCode, groupWeb} {
			docs := groups[group]
			if len(docs) == 0 {
				continue
			}
			for _, impl := range []string{"tiktoken-go", "counter", "counter-nocache"} {
				b.Run(enc+"/"+group+"/"+impl, func(b *testing.B) {
					benchCount(b, docs, count[impl])
				})
			}
		}
	}
}

func benchCount(b *testing.B, docs []string, count func(string) int) {
	var size int64
	for _, d := range docs {
		size += int64(len(d))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		for _, d := range docs {
			count(d)
		}
	}
	if cpu := cpuTime(b) - start; cpu > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}
