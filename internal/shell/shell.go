// Package shell builds the commands of the shell scripts vtmeta's Pods and
// Jobs run, so that no value of a spec is ever part of a script's text: a
// script is a constant, and the values it acts on are its positional
// arguments ("$1", "$@"), which the shell never parses as code, whatever
// they hold.
package shell

// Command is the exec form of running script with args as its positional
// arguments: sh -c script name args..., where name is $0, the name the
// shell gives the script in its own error messages.
func Command(name, script string, args ...string) []string {
	return append([]string{"sh", "-c", script, name}, args...)
}
