package stages

import (
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestDetectScript(t *testing.T) {
	tests := []struct{ text, want string }{
		{"The cat sleeps on the sofa.", "Latn"},
		{"Кошка спит на диване, the cat.", "Cyrl"},
		{"القطة نائمة على الأريكة", "Arab"},
		{"这是我们国家的首都。", "Hans"},
		{"這是我們國家的首都。", "Hant"},
		{"首都北京", "Hani"},
		{"これは日本語の文章です。", "Jpan"},
		{"カタカナ", "Jpan"},
		{"고양이가 소파에서 잔다", "Hang"},
		{"बिल्ली सोफे पर सो रही है", "Deva"},
		{"Η γάτα κοιμάται", "Grek"},
		{"12345 !?", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := DetectScript(tt.text, 1000); got != tt.want {
			t.Errorf("DetectScript(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	if got := DetectScript("abc Кошка спит на диване", 3); got != "Latn" {
		t.Errorf("DetectScript with 3 code points = %q, want Latn", got)
	}
}

func TestLangidWritesScript(t *testing.T) {
	st, _ := stageFromYAML(t, "langid", "")
	b := batchFromTexts(0,
		"Nous partons demain matin pour Lyon avec mes cousins.",
		"這是我們國家的首都，我們都很喜歡這裡的生活。",
		"dropped before langid")
	defer b.Release()
	b.Drop(2, "test_drop")
	processOne(t, st, b)
	scripts := b.Strings(pipeline.ColLangScript)
	for i, want := range []string{"Latn", "Hant", ""} {
		if got := scripts.Value(i); got != want {
			t.Errorf("row %d: lang_script %q, want %q", i, got, want)
		}
	}
}

func TestLangidParagraphShares(t *testing.T) {
	english := "The committee met on Tuesday to discuss the budget for the coming year and the new library." // 74 letters
	german := "Der Ausschuss hat am Dienstag lange über den Haushalt für das kommende Jahr beraten. " +
		"Die Mitglieder waren sich am Ende einig, dass die neue Bibliothek gebaut werden soll." // 140 letters
	st, _ := stageFromYAML(t, "langid", "paragraphs: true")
	b := batchFromTexts(0, english+"\n\n"+german, "ok")
	defer b.Release()
	processOne(t, st, b)
	metas := b.Strings(pipeline.ColMetadata)
	// 74 and 140 letters of 214: 0.346 and 0.654.
	if got, want := metas.Value(0), `{"lang_shares":{"deu_Latn":0.654,"eng_Latn":0.346}}`; got != want {
		t.Errorf("metadata = %s, want %s", got, want)
	}
	// Two letters, under min_chars: und.
	if got, want := metas.Value(1), `{"lang_shares":{"und":1}}`; got != want {
		t.Errorf("metadata of a short text = %s, want %s", got, want)
	}
	if b.Strings(pipeline.ColLang).Value(0) != "deu_Latn" {
		t.Errorf("lang = %s, want deu_Latn", b.Strings(pipeline.ColLang).Value(0))
	}
}
