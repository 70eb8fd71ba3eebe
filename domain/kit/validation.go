package kit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validation collects field errors; Err returns nil when there are none.
type Validation []FieldError

// Add records that field breaks a rule.
func (v *Validation) Add(field, message string) { *v = append(*v, FieldError{field, message}) }

// Err is a *ValidationError with every field added, or nil.
func (v Validation) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Fields: v}
}

// Text checks a required short text (an id, a name, a code): valid UTF-8, not blank,
// at most maxChars characters (not bytes), and no control characters (PostgreSQL cannot
// store NUL, and the others are never meant).
func (v *Validation) Text(field, s string, maxChars int) { v.text(field, s, maxChars, false) }

// FreeText checks optional prose (a reason, a note): like Text, but it may be empty or
// blank and may hold line breaks and tabs.
func (v *Validation) FreeText(field, s string, maxChars int) { v.text(field, s, maxChars, true) }

func (v *Validation) text(field, s string, maxChars int, freeText bool) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case !freeText && strings.TrimSpace(s) == "":
		v.Add(field, "must not be blank")
	case utf8.RuneCountInString(s) > maxChars:
		v.Add(field, fmt.Sprintf("must be at most %d characters", maxChars))
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && (!freeText || r != '\n' && r != '\t' && r != '\r') }) >= 0:
		v.Add(field, "must not contain control characters")
	}
}

// ID checks that an identifier is not the nil UUID (all zero bytes).
func (v *Validation) ID(field string, id [16]byte) {
	if id == [16]byte{} {
		v.Add(field, "must not be the nil UUID")
	}
}

// Range checks that n lies in [lo, hi].
func (v *Validation) Range(field string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.Add(field, fmt.Sprintf("must be between %d and %d", lo, hi))
	}
}
