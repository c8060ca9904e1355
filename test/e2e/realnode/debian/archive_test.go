package debian

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePins(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []Pin
		err      string
	}{
		{"comments and blanks", "# header\n\nmysql-server-core 9.7.4-2\n  libc6   2.43-7  \n", []Pin{{"mysql-server-core", "9.7.4-2"}, {"libc6", "2.43-7"}}, ""},
		{"an epoch", "zlib1g 1:1.3.dfsg+really1.3.2-4\n", []Pin{{"zlib1g", "1:1.3.dfsg+really1.3.2-4"}}, ""},
		{"no version", "libc6\n", nil, "line 1"},
		{"twice", "a 1\nb 2\na 3\n", nil, "a is pinned twice"},
		{"empty", "# nothing\n", nil, "no pins"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePins(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

// policy is apt-cache policy's output as apt 2.6 prints it; a package the
// index does not have is left out.
const policy = `mysql-server-core:
  Installed: (none)
  Candidate: 9.7.5-1
  Version table:
     9.7.5-1 500
        500 http://deb.debian.org/debian sid/main amd64 Packages
     9.7.4-3 100
        100 http://deb.debian.org/debian sid/main amd64 Packages
libc6:
  Installed: 2.36-9
  Candidate: 2.43-7
  Version table:
     2.43-7 500
        500 http://deb.debian.org/debian sid/main amd64 Packages
 *** 2.36-9 100
        100 /var/lib/dpkg/status
gone-virtual:
  Installed: (none)
  Candidate: (none)
  Version table:
`

func TestParsePolicy(t *testing.T) {
	got := ParsePolicy(policy)
	want := map[string]Versions{
		"mysql-server-core": {Candidate: "9.7.5-1", Available: []string{"9.7.5-1", "9.7.4-3"}},
		"libc6":             {Candidate: "2.43-7", Available: []string{"2.43-7", "2.36-9"}},
		"gone-virtual":      {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestMovedPins checks that a pin the suite no longer has fails with a
// message naming the pin, where it is kept, and where to move it.
func TestMovedPins(t *testing.T) {
	a := Archive{Suite: "sid", Mirror: "http://deb.debian.org/debian", PinsFile: "images/mysql-packages.txt"}
	versions := ParsePolicy(policy)
	if err := a.movedPins([]Pin{{"mysql-server-core", "9.7.4-3"}, {"libc6", "2.43-7"}}, versions); err != nil {
		t.Errorf("pins the index has: %v", err)
	}
	err := a.movedPins([]Pin{{"mysql-server-core", "9.7.4-2"}, {"libc6", "2.43-7"}, {"libfoo1", "1.0"}, {"gone-virtual", "2"}}, versions)
	if err == nil {
		t.Fatal("pins the index lacks: no error")
	}
	for _, want := range []string{
		"move these pins in images/mysql-packages.txt",
		"mysql-server-core 9.7.4-2: gone from sid, which now has 9.7.5-1, 9.7.4-3: move the pin to mysql-server-core 9.7.5-1",
		"libfoo1 1.0: sid has no libfoo1 any more",
		"gone-virtual 2: sid has no gone-virtual any more",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "libc6") {
		t.Errorf("the error names a pin that holds:\n%v", err)
	}
}

func TestCheckClosure(t *testing.T) {
	a := Archive{Suite: "sid", PinsFile: "pins.txt"}
	pins := []Pin{{"libc6", "2.43-7"}, {"mysql-server-core", "9.7.4-2"}}
	sim := "NOTE: This is only a simulation!\nInst libc6 (2.43-7 Debian:unstable [amd64]) []\nInst mysql-server-core (9.7.4-2 Debian:unstable [amd64])\nConf libc6 (2.43-7 Debian:unstable [amd64])\n"
	if err := a.checkClosure(pins, sim); err != nil {
		t.Errorf("a closed set: %v", err)
	}
	sim += "Inst libnew1 (1.2-1 Debian:unstable [amd64])\nInst libc6:amd64 (2.44-1 Debian:unstable [amd64])\n"
	err := a.checkClosure(pins, sim)
	if err == nil {
		t.Fatal("an unpinned dependency: no error")
	}
	for _, want := range []string{"add these pins to pins.txt", "libnew1 1.2-1", "libc6 2.44-1 (pinned at 2.43-7)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}
