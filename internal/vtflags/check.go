package vtflags

import (
	"fmt"
	"slices"
	"strings"
)

// Name is a flag's name as Vitess reads it: leading dashes dropped, and a
// name written with underscores only (no dash) read with dashes, as Vitess
// 24 still does and Vitess 25 no longer will. A name that mixes both is
// left as it is, and Vitess does not know it.
func Name(flag string) string {
	n := strings.TrimLeft(flag, "-")
	if strings.Contains(n, "_") && !strings.Contains(n, "-") {
		n = strings.ReplaceAll(n, "_", "-")
	}
	return n
}

// Knows says whether the binary, at VitessVersion, takes the flag.
func Knows(binary, flag string) bool {
	_, ok := slices.BinarySearch(known[binary], Name(flag))
	return ok
}

// Check refuses a flag the binary does not take, naming the binary, the
// flag, the Vitess version of the list, and the nearest flag it does take.
func Check(binary, flag string) error {
	if Knows(binary, flag) {
		return nil
	}
	list, ok := known[binary]
	if !ok {
		return fmt.Errorf("vtmeta knows no flags of %s", binary)
	}
	msg := fmt.Sprintf("%s (Vitess %s) has no flag --%s", binary, VitessVersion, Name(flag))
	if n := nearest(list, Name(flag)); n != "" {
		msg += fmt.Sprintf("; did you mean --%s?", n)
	} else {
		msg += fmt.Sprintf("; see %s --help", binary)
	}
	return fmt.Errorf("%s", msg)
}

// nearest is the name in list closest to name by edit distance, or "" when
// none is close enough to be a likely typo (at most a third of the name's
// length, and at least 3, edits away).
func nearest(list []string, name string) string {
	best, bestD := "", max(3, len(name)/3)+1
	for _, n := range list {
		if d := distance(n, name); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
