package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

// tagCommand names a version, moves a tag with --force, deletes one with
// --delete, or lists the tags. Every change takes the commit lock, so it
// never interleaves with a commit or another tag change.
func tagCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow tag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "move the tag when it names another version")
	del := fs.Bool("delete", false, "delete the tag NAME: winnow tag --delete ROOT NAME")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *del && len(pos) == 2:
		return deleteTag(pos[0], pos[1], stdout)
	case *del:
		return usageError{fmt.Errorf("tag --delete takes ROOT and NAME, got %q", pos)}
	case len(pos) <= 1:
		return listTags(pos, stdout)
	case len(pos) != 3:
		return usageError{fmt.Errorf("tag takes ROOT, VERSION and NAME, got %q", pos)}
	}
	if err := pipeline.CheckTagName(pos[2]); err != nil {
		return usageError{err}
	}

	store, unlock, err := lockRoot(pos[0])
	if err != nil {
		return err
	}
	defer unlock()
	id, err := pipeline.ResolveVersion(store, pos[1])
	if err != nil {
		return usageError{err}
	}
	previous, err := pipeline.SetTag(store, pos[2], id, *force, time.Now().UTC())
	if errors.Is(err, pipeline.ErrTagExists) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	switch previous {
	case "":
		fmt.Fprintf(stdout, "tag %s -> %s\n", pos[2], id)
	case id:
		fmt.Fprintf(stdout, "tag %s already names %s\n", pos[2], id)
	default:
		fmt.Fprintf(stdout, "tag %s moved: %s -> %s\n", pos[2], previous, id)
	}
	return nil
}

func deleteTag(root, name string, stdout io.Writer) error {
	store, err := openLocalRoot(root)
	if err != nil {
		return err
	}
	unlock, err := store.LockCommits(commitLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	previous, err := pipeline.DeleteTag(store, name, time.Now().UTC())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tag %s deleted; version %s stays\n", name, previous)
	return nil
}

func listTags(pos []string, stdout io.Writer) error {
	store, err := openRoot("tag takes ROOT", pos, 1)
	if err != nil {
		return err
	}
	tags, err := pipeline.ReadTags(store)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tag\tversion")
	for _, name := range pipeline.SortedKeys(tags) {
		fmt.Fprintf(tw, "%s\t%s\n", name, tags[name])
	}
	return tw.Flush()
}

// rollbackCommand points refs/latest at an earlier version. Nothing is
// deleted, so rolling forward again is one more rollback.
func rollbackCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{fmt.Errorf("rollback takes ROOT and VERSION, got %q", pos)}
	}
	store, unlock, err := lockRoot(pos[0])
	if err != nil {
		return err
	}
	defer unlock()
	id, err := pipeline.ResolveVersion(store, pos[1])
	if err != nil {
		return usageError{err}
	}
	previous, err := pipeline.SetLatest(store, id, "rollback", time.Now().UTC())
	if err != nil {
		return err
	}
	if previous == id {
		fmt.Fprintf(stdout, "latest is already %s\n", id)
		return nil
	}
	fmt.Fprintf(stdout, "latest: %s -> %s\n", previous, id)
	fmt.Fprintf(stdout, "nothing was deleted: version %s stays readable, and `winnow rollback %s %s` undoes this\n", previous, pos[0], previous)
	return nil
}

// lockRoot opens an existing dataset root, a folder or an s3:// URL, and
// takes its commit lock.
func lockRoot(root string) (pipeline.Store, func(), error) {
	store, err := openStore(root, false)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := pipeline.LockCommits(store, commitLockWait)
	if err != nil {
		return nil, nil, err
	}
	return store, unlock, nil
}

// parseCommandFlags parses flags as parseFlags does and marks a bad flag
// as a usage error, which exits 2.
func parseCommandFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, usageError{err}
	}
	return pos, err
}
