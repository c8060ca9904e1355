// Package mdcheck checks the repository's markdown: every relative link
// names a file that exists, every #anchor names a heading of its page as
// GitHub renders it (or an explicit <a id>), and every `make <target>` the
// docs tell a reader to run names a target the Makefile has.
package mdcheck

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Problem is one broken link, anchor or make target.
type Problem struct {
	// File is the markdown file, relative to the checked root.
	File string
	// Line is the 1-based line the reference starts on.
	Line int
	// Msg says what is wrong.
	Msg string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Link is a link destination found in markdown.
type Link struct {
	Line int
	Dest string
}

// MakeRef is a make target a page tells the reader to run.
type MakeRef struct {
	Line   int
	Target string
}

// Check checks files (slash paths relative to fsys's root) against the
// files of fsys and the targets of the Makefile.
func Check(fsys fs.FS, files []string, targets map[string]bool) []Problem {
	var out []Problem
	anchors := map[string]map[string]bool{}
	anchorsOf := func(name string) (map[string]bool, error) {
		if a, ok := anchors[name]; ok {
			return a, nil
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		a := Anchors(src)
		anchors[name] = a
		return a, nil
	}
	for _, file := range files {
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			out = append(out, Problem{file, 0, err.Error()})
			continue
		}
		for _, l := range Links(src) {
			if msg := checkLink(fsys, file, l.Dest, anchorsOf); msg != "" {
				out = append(out, Problem{file, l.Line, msg})
			}
		}
		for _, m := range MakeRefs(src) {
			if !targets[m.Target] {
				out = append(out, Problem{file, m.Line, fmt.Sprintf("make %s: the Makefile has no target %q", m.Target, m.Target)})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

var scheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

// checkLink says what is wrong with one destination, or "".
func checkLink(fsys fs.FS, file, dest string, anchorsOf func(string) (map[string]bool, error)) string {
	if scheme.MatchString(dest) || strings.HasPrefix(dest, "//") {
		return "" // another site: not checked here
	}
	p, anchor, _ := strings.Cut(dest, "#")
	p, err := url.PathUnescape(p)
	if err != nil {
		return fmt.Sprintf("link %s: %v", dest, err)
	}
	target := file
	if p != "" {
		if strings.HasPrefix(p, "/") {
			target = path.Clean(strings.TrimPrefix(p, "/"))
		} else {
			target = path.Join(path.Dir(file), p)
		}
		if target == ".." || strings.HasPrefix(target, "../") {
			return fmt.Sprintf("link %s: leaves the repository", dest)
		}
		if _, err := fs.Stat(fsys, target); err != nil {
			return fmt.Sprintf("link %s: %s does not exist", dest, target)
		}
	}
	if anchor == "" || !strings.HasSuffix(target, ".md") {
		return ""
	}
	a, err := anchorsOf(target)
	if err != nil {
		return fmt.Sprintf("link %s: %v", dest, err)
	}
	if dec, err := url.PathUnescape(anchor); err == nil {
		anchor = dec
	}
	if !a[anchor] {
		return fmt.Sprintf("link %s: %s has no heading or anchor #%s", dest, target, anchor)
	}
	return ""
}

// block is a run of lines: a paragraph (or list, table, heading) outside
// code, or one line of a fenced code block.
type block struct {
	line int // first line, 1-based
	text string
	code bool
}

var fenceRE = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")

// blocks splits markdown into paragraphs and fenced code lines.
func blocks(src []byte) []block {
	var out []block
	var para []string
	start := 0
	flush := func() {
		if len(para) > 0 {
			out = append(out, block{line: start, text: strings.Join(para, "\n")})
			para = nil
		}
	}
	fence := ""
	for i, l := range strings.Split(string(src), "\n") {
		l = strings.TrimRight(l, "\r")
		if fence != "" {
			if m := fenceRE.FindStringSubmatch(l); m != nil && m[1][0] == fence[0] && len(m[1]) >= len(fence) && strings.TrimSpace(l[len(m[0]):]) == "" {
				fence = ""
				continue
			}
			out = append(out, block{line: i + 1, text: l, code: true})
			continue
		}
		if m := fenceRE.FindStringSubmatch(l); m != nil && !(m[1][0] == '`' && strings.Contains(l[len(m[0]):], "`")) {
			flush()
			fence = m[1]
			continue
		}
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		if len(para) == 0 {
			start = i + 1
		}
		para = append(para, l)
	}
	flush()
	return out
}

// span is a code span of a paragraph: text[start:end] is its whole source,
// backticks included; content is what it shows.
type span struct {
	start, end int
	content    string
}

// codeSpans finds the code spans of a paragraph.
func codeSpans(s string) []span {
	var out []span
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			i += 2
			continue
		}
		if s[i] != '`' {
			i++
			continue
		}
		n := backticks(s[i:])
		j := i + n
		found := false
		for j < len(s) {
			if s[j] != '`' {
				j++
				continue
			}
			m := backticks(s[j:])
			if m == n {
				c := strings.ReplaceAll(s[i+n:j], "\n", " ")
				if len(c) > 2 && c[0] == ' ' && c[len(c)-1] == ' ' && strings.Trim(c, " ") != "" {
					c = c[1 : len(c)-1]
				}
				out = append(out, span{i, j + m, c})
				i = j + m
				found = true
				break
			}
			j += m
		}
		if !found {
			i += n
		}
	}
	return out
}

func backticks(s string) int {
	n := 0
	for n < len(s) && s[n] == '`' {
		n++
	}
	return n
}

// mask blanks the code spans of a paragraph (keeping offsets and line
// breaks), so that nothing inside one is read as a link.
func mask(s string, spans []span) string {
	b := []byte(s)
	for _, sp := range spans {
		for i := sp.start; i < sp.end; i++ {
			if b[i] != '\n' {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

var (
	inlineLinkRE = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)`)
	refDefRE     = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	htmlAnchorRE = regexp.MustCompile(`(?i)<a\s[^>]*\b(?:name|id)\s*=\s*["']([^"']+)["']`)
)

// Links returns every link destination outside code: inline links,
// images and reference definitions.
func Links(src []byte) []Link {
	var out []Link
	for _, b := range blocks(src) {
		if b.code {
			continue
		}
		text := mask(b.text, codeSpans(b.text))
		add := func(offset int, dest string) {
			dest = strings.TrimSuffix(strings.TrimPrefix(dest, "<"), ">")
			if dest == "" {
				return
			}
			out = append(out, Link{Line: b.line + strings.Count(text[:offset], "\n"), Dest: dest})
		}
		for _, m := range inlineLinkRE.FindAllStringSubmatchIndex(text, -1) {
			add(m[0], text[m[2]:m[3]])
		}
		for _, m := range refDefRE.FindAllStringSubmatchIndex(text, -1) {
			add(m[0], text[m[2]:m[3]])
		}
	}
	return out
}

var (
	atxRE    = regexp.MustCompile(`^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextRE = regexp.MustCompile(`^ {0,3}(?:=+|-+)[ \t]*$`)
)

// Headings returns the text of every heading, in order, as written.
func Headings(src []byte) []string {
	var out []string
	for _, b := range blocks(src) {
		if b.code {
			continue
		}
		lines := strings.Split(b.text, "\n")
		var para []string
		for _, l := range lines {
			if m := atxRE.FindStringSubmatch(l); m != nil {
				para = nil
				out = append(out, strings.TrimSpace(m[1]))
				continue
			}
			if len(para) > 0 && setextRE.MatchString(l) {
				out = append(out, strings.TrimSpace(strings.Join(para, " ")))
				para = nil
				continue
			}
			para = append(para, strings.TrimSpace(l))
		}
	}
	return out
}

// Anchors returns every anchor a page has on GitHub: its headings' slugs,
// numbered as GitHub numbers repeated ones, and the ids and names of its
// <a> elements.
func Anchors(src []byte) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range Headings(src) {
		out[uniqueSlug(Slug(h), seen)] = true
	}
	for _, b := range blocks(src) {
		if b.code {
			continue
		}
		for _, m := range htmlAnchorRE.FindAllStringSubmatch(mask(b.text, codeSpans(b.text)), -1) {
			out[m[1]] = true
		}
	}
	return out
}

// uniqueSlug numbers a repeated slug as GitHub does: the second "x" is
// x-1, the third x-2.
func uniqueSlug(s string, seen map[string]int) string {
	slug := s
	if _, ok := seen[s]; ok {
		for {
			seen[s]++
			slug = fmt.Sprintf("%s-%d", s, seen[s])
			if _, ok := seen[slug]; !ok {
				break
			}
		}
	}
	seen[slug] = 0
	return slug
}

var (
	imageRE  = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	linkRE   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	refRE    = regexp.MustCompile(`\[([^\]]*)\]\[[^\]]*\]`)
	tagRE    = regexp.MustCompile(`</?[a-zA-Z][^>]*>`)
	entityRE = regexp.MustCompile(`&#?[a-zA-Z0-9]+;`)
	escRE    = regexp.MustCompile("\\\\([!-/:-@\\[-`{-~])")
	emphRE   = regexp.MustCompile(`(^|[^\p{L}\p{N}])_+|_+([^\p{L}\p{N}]|$)`)
)

// Slug is the anchor GitHub gives a heading written as h: the text it
// renders (code spans' contents, links' texts, no emphasis, tags or
// escapes), lowercased, with every character that is not a letter, digit,
// mark, space, '-' or '_' removed and each space turned into '-'.
func Slug(h string) string {
	spans := codeSpans(h)
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(inline(h[last:sp.start]))
		b.WriteString(sp.content)
		last = sp.end
	}
	b.WriteString(inline(h[last:]))
	var s strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(b.String())) {
		switch {
		case r == ' ':
			s.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			s.WriteRune(r)
		}
	}
	return s.String()
}

// inline renders the markup of heading text outside code spans to the
// text GitHub shows.
func inline(s string) string {
	// An escaped underscore is text, never emphasis.
	s = strings.ReplaceAll(s, `\_`, "\uE000")
	s = imageRE.ReplaceAllString(s, "$1")
	s = linkRE.ReplaceAllString(s, "$1")
	s = refRE.ReplaceAllString(s, "$1")
	s = tagRE.ReplaceAllString(s, "")
	s = entityRE.ReplaceAllString(s, "")
	s = strings.NewReplacer("*", "").Replace(s)
	// Underscores that open or close emphasis go; those inside a word stay.
	s = emphRE.ReplaceAllString(s, "$1$2")
	// An escaped character shows as itself.
	s = escRE.ReplaceAllString(s, "$1")
	return strings.ReplaceAll(s, "\uE000", "_")
}

var targetRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// MakeRefs returns the make targets a page tells the reader to run: in a
// code span that starts with "make ", and in a fenced code block's
// commands. Arguments that set variables or are flags are skipped; the
// first word that cannot be a target ends the list (`make <target>`,
// a # comment).
func MakeRefs(src []byte) []MakeRef {
	var out []MakeRef
	for _, b := range blocks(src) {
		if b.code {
			for _, cmd := range commands(b.text) {
				out = append(out, makeTargets(b.line, cmd)...)
			}
			continue
		}
		for _, sp := range codeSpans(b.text) {
			line := b.line + strings.Count(b.text[:sp.start], "\n")
			out = append(out, makeTargets(line, strings.TrimSpace(sp.content))...)
		}
	}
	return out
}

var (
	promptRE    = regexp.MustCompile(`^\s*\$\s+`)
	separatorRE = regexp.MustCompile(`&&|\|\||;|\|`)
)

// commands splits a shell line into its commands.
func commands(line string) []string {
	line = promptRE.ReplaceAllString(line, "")
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	var out []string
	for _, c := range separatorRE.Split(line, -1) {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// makeTargets returns the targets of one command, if it runs make.
func makeTargets(line int, cmd string) []MakeRef {
	words := strings.Fields(cmd)
	if len(words) < 2 || words[0] != "make" {
		return nil
	}
	var out []MakeRef
	for _, w := range words[1:] {
		switch {
		case strings.HasPrefix(w, "-") || strings.Contains(w, "="):
			continue
		case targetRE.MatchString(w):
			out = append(out, MakeRef{Line: line, Target: w})
		default:
			return out
		}
	}
	return out
}

var ruleRE = regexp.MustCompile(`^([^\s:=#][^:=#]*?)\s*::?(?:[^=]|$)`)

// Targets returns the explicit targets of a Makefile (not those named by
// variables or patterns).
func Targets(makefile []byte) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(string(makefile), "\n") {
		m := ruleRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, t := range strings.Fields(m[1]) {
			if !strings.ContainsAny(t, "$%") && !strings.HasPrefix(t, ".") {
				out[t] = true
			}
		}
	}
	return out
}
