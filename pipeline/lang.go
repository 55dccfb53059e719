package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// LangWriter is a stage that writes the lang column. LangLabels returns
// every label it can write, besides "und".
type LangWriter interface {
	LangLabels() []string
}

// LangReader is a stage whose options name lang labels. LangLabelsRead
// returns the option's key and the labels it names. needsWriter reports
// that the stage means nothing without a LangWriter before it, as a filter
// that keeps one language would drop every document with an empty lang.
type LangReader interface {
	LangLabelsRead() (field string, labels []string, needsWriter bool)
}

// CheckLangChain checks, before any data is read, that each stage naming
// lang labels can ever see them: every label it names must be one the
// nearest LangWriter before it can write. A config whose language filter
// silently matches nothing fails here instead, naming the stage, the
// option and the label.
func CheckLangChain(chain []StageInstance) error {
	var writer *StageInstance
	var labels []string
	for i := range chain {
		st := &chain[i]
		if r, ok := st.Stage.(LangReader); ok {
			field, want, needs := r.LangLabelsRead()
			switch {
			case writer == nil && needs:
				return fmt.Errorf("stage %s: no stage before it writes lang labels, so every document would have an empty lang; put langid before it", st.Name)
			case writer != nil:
				for _, l := range want {
					if !slices.Contains(labels, l) {
						return fmt.Errorf("stage %s: %s: %s is never written by %s before it, which writes %s",
							st.Name, field, l, writer.Name, summarizeLabels(labels))
					}
				}
			}
		}
		if w, ok := st.Stage.(LangWriter); ok {
			writer, labels = st, w.LangLabels()
		}
	}
	return nil
}

func summarizeLabels(labels []string) string {
	const shown = 8
	if len(labels) <= shown {
		return strings.Join(labels, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(labels[:shown], ", "), len(labels)-shown)
}
