package kjson

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

var errBadEscape = errors.New("invalid escape in JSON string")

// unquote decodes a JSON string literal (quotes included) that contains
// escapes. It copies the runs between backslashes in bulk, which is several
// times faster than a byte-at-a-time loop on escape-dense strings such as
// Metacontroller's last-applied annotations (JSON inside JSON).
func unquote(v []byte) (string, error) {
	if len(v) < 2 {
		return "", errBadEscape
	}
	v = v[1 : len(v)-1]
	out := make([]byte, 0, len(v))
	for {
		i := bytes.IndexByte(v, '\\')
		if i < 0 {
			out = append(out, v...)
			return string(out), nil
		}
		out = append(out, v[:i]...)
		if i+1 >= len(v) {
			return "", errBadEscape
		}
		switch c := v[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
			v = v[i+2:]
		case 'b':
			out, v = append(out, '\b'), v[i+2:]
		case 'f':
			out, v = append(out, '\f'), v[i+2:]
		case 'n':
			out, v = append(out, '\n'), v[i+2:]
		case 'r':
			out, v = append(out, '\r'), v[i+2:]
		case 't':
			out, v = append(out, '\t'), v[i+2:]
		case 'u':
			r, n, err := unicodeEscape(v[i:])
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
			v = v[i+n:]
		default:
			return "", errBadEscape
		}
	}
}

// unicodeEscape decodes \uXXXX (and a following low surrogate) at the start
// of v, returning the rune and the bytes consumed.
func unicodeEscape(v []byte) (rune, int, error) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[2:6]), 16, 16)
		return rune(n), err == nil
	}
	r, ok := hex4(v)
	if !ok {
		return 0, 0, errBadEscape
	}
	if utf16.IsSurrogate(r) {
		if r2, ok := hex4(v[6:]); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 12, nil
			}
		}
		return utf8.RuneError, 6, nil
	}
	return r, 6, nil
}
