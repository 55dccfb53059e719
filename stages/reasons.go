package stages

import "github.com/winnow-data/winnow/pipeline"

// ReasonSource is the owner of the reason codes a source writes when it
// skips a record. Those records never become rows, so they are counted in
// the summary and manifest but never reach the rejects output.
const ReasonSource = "source"

// Every drop reason code, by the stage that writes it. Listing them in one
// place lets `winnow rejects --reason` and the config reject a misspelt
// code at startup instead of matching nothing.
func init() {
	pipeline.DeclareReasons(ReasonSource,
		EventMalformedJSON, EventOversizedRecord, EventMissingText, EventBlankLine,
		EventMalformedWARC, EventTruncatedFile, EventEmptyFile, EventReadError,
		EventEmptyRecord)
	pipeline.DeclareReasons("normalize", normalizeReasonInvalidUTF8, normalizeReasonEmptyText)
	pipeline.DeclareReasons("gopher_quality",
		gopherShortDoc, gopherLongDoc, gopherMeanWordLengthLow, gopherMeanWordLengthHigh,
		gopherHashRatio, gopherEllipsisRatio, gopherBulletLines, gopherEllipsisLines,
		gopherAlphaWords, gopherStopWords)
	pipeline.DeclareReasons("gopher_repetition", repDupLineFrac, repDupParaFrac, repDupLineCharFrac, repDupParaCharFrac)
	pipeline.DeclareReasons("gopher_repetition", repTopReasons[:]...)
	pipeline.DeclareReasons("gopher_repetition", repDupReasons[:]...)
	pipeline.DeclareReasons("c4", c4LoremIpsum, c4CurlyBracket, c4TooFewSentences)
	pipeline.DeclareReasons("fineweb_quality", finewebLinePunct, finewebShortLine, finewebCharDup, finewebList)
	pipeline.DeclareReasons("toxicity", toxicWords)
	pipeline.DeclareReasons("url_filter", urlBlocklisted, urlBannedWord, urlBannedSubword, urlSoftBannedWords)
	pipeline.DeclareReasons("pii", piiReasonTooMany)
	pipeline.DeclareReasons("exact_dedup", exactDedupReason)
	pipeline.DeclareReasons("near_dedup", reasonNearDuplicate)
}
