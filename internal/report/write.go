package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// JSONFormat is the version of the JSON layout that WriteJSON writes.
const JSONFormat = 1

// WriteJSON writes the report as one JSON object: the versions compared,
// the notes by table name, and every table as an array of row objects
// whose keys are in column order, as pandas.DataFrame(records) takes them.
func (r *Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	head := struct {
		Format    int               `json:"format"`
		Version   string            `json:"version"`
		Against   *string           `json:"against"`
		SourceKey string            `json:"source_key"`
		Notes     map[string]string `json:"notes"`
	}{Format: JSONFormat, Version: r.Version.ID, SourceKey: r.SourceKey, Notes: r.Notes}
	if r.Against != nil {
		head.Against = &r.Against.ID
	}
	raw, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	// Reopen the object to append the tables after its last field.
	bw.Write(bytes.TrimSuffix(raw, []byte("\n}")))
	bw.WriteString(",\n  \"tables\": {")
	for i, t := range r.Tables() {
		if i > 0 {
			bw.WriteString(",")
		}
		fmt.Fprintf(bw, "\n    %q: [", t.Name)
		for j, row := range t.Rows {
			if j > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n      {")
			for k, col := range t.Columns {
				if k > 0 {
					bw.WriteString(", ")
				}
				if err := writeJSONField(bw, col.Name, row[k]); err != nil {
					return fmt.Errorf("table %s, column %s: %w", t.Name, col.Name, err)
				}
			}
			bw.WriteString("}")
		}
		if len(t.Rows) > 0 {
			bw.WriteString("\n    ")
		}
		bw.WriteString("]")
	}
	bw.WriteString("\n  }\n}\n")
	return bw.Flush()
}

func writeJSONField(w *bufio.Writer, name string, v any) error {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		v = nil // JSON has no literal for them
	}
	key, _ := json.Marshal(name)
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Write(key)
	w.WriteString(": ")
	w.Write(val)
	return nil
}

// WriteCSV writes every table to dir/<table>.csv, with a header row,
// creating dir when it is missing. Empty tables get their header alone,
// and unknown values an empty cell.
func (r *Report) WriteCSV(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating CSV folder: %w", err)
	}
	for _, t := range r.Tables() {
		if err := writeCSVTable(filepath.Join(dir, t.Name+".csv"), t); err != nil {
			return err
		}
	}
	return nil
}

func writeCSVTable(path string, t Table) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.Name
	}
	w.Write(header)
	record := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i, v := range row {
			record[i] = csvValue(v)
		}
		w.Write(record)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing CSV table: %w", err)
	}
	return nil
}

func csvValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}
