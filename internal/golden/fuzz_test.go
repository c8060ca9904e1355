package golden

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A child held as its observed record passes through whatever that record
// carries; a child the layer built may carry no reserved key but its own,
// and an observed child must be in a 200 as its record or built anew.
func TestCheckAnswer(t *testing.T) {
	pod := func(label string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"` + label + `":"x"},"annotations":{"vitess.io/desired-hash":"abc"}}}`
	}
	record := pod("vitess.io/componen-")
	quoted, _ := json.Marshal(record)
	req := `{"parent":{"kind":"VitessTablet","metadata":{"name":"t"},"spec":{}},"children":{"Pod.v1":{"p":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"metacontroller.k8s.io/last-applied-configuration":` + string(quoted) + `}}}}}}`
	answer := func(children ...string) string {
		return `{"children":[` + strings.Join(children, ",") + `],"status":{}}`
	}
	rules := Rules{Types: []string{"Pod.v1"}}
	for _, tc := range []struct {
		name, answer, want string // want: a part of the error, "" for none
	}{
		{"held as its record, a foreign label and all", answer(record), ""},
		{"built anew with vtmeta's own labels", answer(pod("vitess.io/component")), ""},
		{"built anew with a foreign reserved label", answer(strings.Replace(record, `"abc"`, `"abd"`, 1)), "reserved"},
		{"another child built with a foreign label", answer(record, strings.Replace(pod("vitess.io/x"), `"p"`, `"q"`, 1)), "vitess.io/x is reserved"},
		{"the observed child left out", answer(), "missing from a 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAnswer([]byte(req), http.StatusOK, []byte(tc.answer), rules)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
