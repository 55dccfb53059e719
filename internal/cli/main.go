// Package cli implements the winnow command: run, dedup, rejects, report,
// stages, versions, show, the version commands log, tag, rollback, gc,
// diff, lineage, verify, forget and consumers, and dev-broker, a local
// Kafka-protocol broker for development and tests.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

const usage = `winnow curates LLM pretraining text into versioned Parquet datasets.

Usage:
  winnow run [flags] [INPUT...]    curate INPUT files, folders or globs into a new version
  winnow dedup [ROOT] [flags]      remove near duplicates across a committed version, split over workers
  winnow rejects [ROOT] [flags]    print a sample of the documents a version's run dropped, by reason
  winnow report [ROOT] [flags]     write a version's languages, sources, drops and changes as HTML, JSON or CSV
  winnow stages                    list the stages and their options
  winnow versions [ROOT]           list the versions of a dataset (default ./winnow-out)
  winnow show [ROOT [VERSION]]     print one version (default: latest) as a table, or --json
  winnow log [ROOT]                print the version graph, newest first, with tags, inputs, counts and messages
  winnow tag ROOT VERSION NAME     name a version (--force moves an existing tag); winnow tag ROOT lists tags
  winnow rollback ROOT VERSION     point latest at an earlier version; nothing is deleted
  winnow gc ROOT                   list the files no kept version references; --apply deletes them
  winnow diff ROOT V1 V2           compare two versions: documents, stage counts, config and drift
  winnow lineage ROOT DOC_ID       trace one document: input, run, stages and the versions that hold it
  winnow verify ROOT [VERSION]     print a version's data tests and exit 3 when one failed
  winnow forget ROOT --id ID...    remove documents from every version (--url-prefix, --ids-file; --purge)
  winnow consumers ROOT [VERSION]  list the training runs the loader recorded as reading a version
  winnow serve ROOT [flags]        stream a version's batches to trainers over HTTP as Arrow IPC
  winnow bench-loader ROOT [flags] measure how long a simulated trainer waits for the loader's batches
  winnow dev-broker [flags]        run a local Kafka-protocol broker for development and tests
  winnow version                   print winnow's version

Run 'winnow COMMAND -h' for a command's flags.
`

// exitUsage is the exit status of a command line or config error.
const exitUsage = 2

// Main runs the command line args and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "run":
		err = runCommand(args[1:], stdout, stderr)
	case "stages":
		err = stagesCommand(args[1:], stdout)
	case "dedup":
		err = dedupCommand(args[1:], stdout, stderr)
	case "rejects":
		err = rejectsCommand(args[1:], stdout, stderr)
	case "report":
		err = reportCommand(args[1:], stdout, stderr)
	case "versions":
		err = versionsCommand(args[1:], stdout)
	case "show":
		err = showCommand(args[1:], stdout)
	case "log":
		err = logCommand(args[1:], stdout, stderr)
	case "tag":
		err = tagCommand(args[1:], stdout, stderr)
	case "rollback":
		err = rollbackCommand(args[1:], stdout, stderr)
	case "gc":
		err = gcCommand(args[1:], stdout, stderr)
	case "diff":
		err = diffCommand(args[1:], stdout, stderr)
	case "lineage":
		err = lineageCommand(args[1:], stdout, stderr)
	case "verify":
		err = verifyCommand(args[1:], stdout, stderr)
	case "forget":
		err = forgetCommand(args[1:], stdout, stderr)
	case "consumers":
		err = consumersCommand(args[1:], stdout, stderr)
	case "serve":
		err = serveCommand(args[1:], stdout, stderr)
	case "bench-loader":
		err = benchLoaderCommand(args[1:], stdout, stderr)
	case "dev-broker":
		err = devBrokerCommand(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, strings.TrimSpace("winnow "+Version()+" "+Revision()))
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "winnow: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "winnow:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ee *expectationError
	if errors.As(err, &ee) {
		return exitExpectation
	}
	return 1
}

// usageError marks errors in the command line or the config, which exit
// with status 2 before any work starts.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// parseFlags parses flags that may appear before, between or after the
// positional arguments, as in `winnow run input.jsonl -o out`.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// Version returns the module version of the build, or "devel".
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}

// buildRevision is set by the Makefile's -ldflags to the git revision, for
// builds made without Go's own VCS stamping (-buildvcs=false).
var buildRevision string

// Revision returns the VCS revision of the build, if it was recorded.
func Revision() string {
	if buildRevision != "" {
		return buildRevision
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" && modified {
		rev += "-dirty"
	}
	return rev
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
