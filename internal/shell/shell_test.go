package shell

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestArgumentsAreNeverCode runs a script that prints its arguments with
// values a shell would run if they were part of its text: each comes back
// as it went in, and none runs.
func TestArgumentsAreNeverCode(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	mark := filepath.Join(dir, "ran")
	values := []string{
		"$(touch " + mark + ")", "`touch " + mark + "`", "x; touch " + mark, "x' ; touch " + mark + " ; '",
		"x\" ; touch " + mark + " ; \"", "x\ntouch " + mark, "x && touch " + mark, "*", "", " spaced  out ",
	}
	cmd := Command("echo-args", `for a in "$@"; do printf '%s\0' "$a"; done`, values...)
	out, err := exec.Command(cmd[0], cmd[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	start := 0
	for i, b := range out {
		if b == 0 {
			got = append(got, string(out[start:i]))
			start = i + 1
		}
	}
	if len(got) != len(values) {
		t.Fatalf("got %d arguments %q, want %d", len(got), got, len(values))
	}
	for i := range values {
		if got[i] != values[i] {
			t.Errorf("argument %d came back as %q, want %q", i, got[i], values[i])
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("a value ran as a command")
	}
}
