package pipeline

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Column names of the document schema. Every batch carries all of them, in
// this order; stages replace columns and never remove them.
const (
	ColID          = "id"           // document id: from the input, or derived from input and position
	ColText        = "text"         // document text
	ColURL         = "url"          // source URL, empty when unknown
	ColSource      = "source"       // source name from the input record, empty when unknown
	ColLang        = "lang"         // language label, empty until a language stage runs
	ColLangScore   = "lang_score"   // confidence of lang in [0, 1]
	ColTokenCount  = "token_count"  // tokens in text
	ColMetadata    = "metadata"     // JSON object with the input record's other fields
	ColInput       = "input"        // input the document was read from, as named in the run's inputs
	ColInputOffset = "input_offset" // record index of the document within its input, from 0
	ColSignature   = "signature"    // near-duplicate signature written by near_dedup, empty otherwise
	ColLangScript  = "lang_script"  // ISO 15924 script of the text's letters (Latn, Cyrl, Hans), empty until langid runs
)

// DocSchema is the Arrow schema of every batch and of the Parquet shards.
var DocSchema = arrow.NewSchema([]arrow.Field{
	{Name: ColID, Type: arrow.BinaryTypes.String},
	{Name: ColText, Type: arrow.BinaryTypes.String},
	{Name: ColURL, Type: arrow.BinaryTypes.String},
	{Name: ColSource, Type: arrow.BinaryTypes.String},
	{Name: ColLang, Type: arrow.BinaryTypes.String},
	{Name: ColLangScore, Type: arrow.PrimitiveTypes.Float32},
	{Name: ColTokenCount, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColMetadata, Type: arrow.BinaryTypes.String},
	{Name: ColInput, Type: arrow.BinaryTypes.String},
	{Name: ColInputOffset, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColSignature, Type: arrow.BinaryTypes.Binary},
	{Name: ColLangScript, Type: arrow.BinaryTypes.String},
}, nil)

// colIndex maps a column name to its position in DocSchema.
var colIndex = func() map[string]int {
	m := make(map[string]int, DocSchema.NumFields())
	for i, f := range DocSchema.Fields() {
		m[f.Name] = i
	}
	return m
}()
