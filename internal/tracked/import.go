package tracked

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"syncer/internal/store"
)

// BadRow is an import row that was refused, and why.
type BadRow struct {
	Line   int
	Reason string
}

func (b BadRow) String() string { return fmt.Sprintf("line %d: %s", b.Line, b.Reason) }

// TargetImport is a CSV file read and validated: the targets to track and
// the rows refused. Nothing is written until the caller decides.
type TargetImport struct {
	Rows    int // data rows read
	Targets []store.TargetInput
	Bad     []BadRow
}

// csvRow is one data row by column name, with the line it starts on.
type csvRow struct {
	line   int
	fields map[string]string
}

// ErrBadFile is a file that cannot be read as the import CSV at all (no or
// a wrong header, broken quoting), as opposed to one with bad rows.
var ErrBadFile = errors.New("bad import file")

// importTargets reads a CSV whose header names columns (in any order;
// optional ones may be missing), validates each row with toTarget, and
// refuses a second row for a key an earlier row already has.
func importTargets(r io.Reader, required, optional []string, toTarget func(csvRow) (store.TargetInput, error)) (TargetImport, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long row is a bad row, not the end of the file
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return TargetImport{}, fmt.Errorf("%w: the file is empty; want the header %s", ErrBadFile, strings.Join(append(required, optional...), ","))
	}
	if err != nil {
		return TargetImport{}, fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	cols, err := headerColumns(header, required, optional)
	if err != nil {
		return TargetImport{}, err
	}
	var out TargetImport
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Broken quoting: where the next row starts is anyone's guess.
			return TargetImport{}, fmt.Errorf("%w: %v", ErrBadFile, err)
		}
		line, _ := cr.FieldPos(0)
		out.Rows++
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(cols) > 1 {
			out.Rows-- // a blank line with only spaces
			continue
		}
		if len(rec) != len(cols) {
			out.Bad = append(out.Bad, BadRow{line, fmt.Sprintf("%d fields, want %d (%s)", len(rec), len(cols), strings.Join(cols, ","))})
			continue
		}
		row := csvRow{line: line, fields: make(map[string]string, len(cols))}
		for i, c := range cols {
			row.fields[c] = rec[i]
		}
		t, err := toTarget(row)
		if err != nil {
			out.Bad = append(out.Bad, BadRow{line, err.Error()})
			continue
		}
		if first, dup := firstLine[t.Key]; dup {
			out.Bad = append(out.Bad, BadRow{line, fmt.Sprintf("the same target as line %d", first)})
			continue
		}
		firstLine[t.Key] = line
		out.Targets = append(out.Targets, t)
	}
	return out, nil
}

func headerColumns(header, required, optional []string) ([]string, error) {
	want := strings.Join(append(slices.Clip(required), optional...), ",")
	cols := make([]string, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a BOM from spreadsheet exports
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(required, h) && !slices.Contains(optional, h):
			return nil, fmt.Errorf("%w: unknown column %q in the header; want %s", ErrBadFile, cut(h, 40), want)
		case slices.Contains(cols[:i], h):
			return nil, fmt.Errorf("%w: column %q appears twice in the header", ErrBadFile, h)
		}
		cols[i] = h
	}
	for _, r := range required {
		if !slices.Contains(cols, r) {
			return nil, fmt.Errorf("%w: the header has no %q column; want %s", ErrBadFile, r, want)
		}
	}
	return cols, nil
}

// checkText refuses what cannot be a name or an identifier: empty, too
// long, not UTF-8, or holding control characters (a pasted newline).
func checkText(what, s string, maxLen int, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("%s is required", what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case utf8.RuneCountInString(s) > maxLen:
		return fmt.Errorf("%s is longer than %d characters", what, maxLen)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%s contains a control character", what)
	}
	return nil
}

// cut keeps the first n characters of s (whole ones) and marks the cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
