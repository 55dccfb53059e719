package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// gcDirs are the folders whose files belong to versions: shards and
// rejects files, and the temporary files of writes that never finished.
var gcDirs = []string{pipeline.ShardsDir, stages.RejectsDir}

// gcTempDirs are the folders where an interrupted write can leave a
// temporary file. Outside shards and rejects, only writers that hold the
// commit lock write there, so a temporary file gc finds under the lock is
// left over. leases/ is not listed: a run writes its lease before it holds
// anything.
var gcTempDirs = []string{pipeline.ShardsDir, stages.RejectsDir, pipeline.VersionsDir, "refs", pipeline.TagsDir, pipeline.ForgottenDir}

// leaseClockSlack widens the protection of a lease to files written a
// little before its start, for clocks of hosts that share a root.
const leaseClockSlack = time.Minute

// gcFile is one file that gc found unreferenced.
type gcFile struct {
	Path     string    `json:"path"`
	Bytes    int64     `json:"bytes"`
	Modified time.Time `json:"modified"`
	// Protected gives the reason the file is kept although no kept
	// version references it. It is empty for a file gc deletes.
	Protected string `json:"protected,omitempty"`
}

// gcPlan lists the versions and files gc deletes, or would delete
// without --apply.
type gcPlan struct {
	Kept         []string             `json:"kept_versions"`
	Dropped      []string             `json:"dropped_versions"` // manifests deleted, with --keep-last
	Files        []gcFile             `json:"files"`
	StaleLeases  []string             `json:"stale_leases"`
	ActiveLeases []pipeline.LeaseInfo `json:"active_leases"`
	Applied      bool                 `json:"applied"`
	DeletedBytes int64                `json:"deleted_bytes"`
}

// gcCommand lists, and with --apply deletes, the shards and rejects files
// that no kept version references. A file that a run or forget may still
// commit is never deleted: see protect.
func gcCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow gc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apply := fs.Bool("apply", false, "delete the files listed; without it gc only lists them")
	keepLast := fs.Int("keep-last", 0, "keep only the N newest versions, plus latest, tagged versions and versions a training run read; 0 keeps every version")
	minAge := fs.Duration("min-age", time.Hour, "never delete a file modified less than this long ago, for runs of winnow builds that take no lease")
	jsonOut := fs.Bool("json", false, "print the plan as JSON")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	if *keepLast < 0 {
		return usageError{fmt.Errorf("--keep-last: invalid value %d: must be 0 (keep every version) or more", *keepLast)}
	}
	if *minAge < 0 {
		return usageError{fmt.Errorf("--min-age: invalid value %s: must be 0 or more", *minAge)}
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("gc takes one ROOT, got %q", pos)}
	}
	// The lock keeps commits, tags and forget requests out while gc
	// decides, so no version can start to reference a file it deletes.
	store, err := openLocalRoot(pos[0])
	if err != nil {
		return err
	}
	unlock, err := store.LockCommits(commitLockWait)
	if err != nil {
		return err
	}
	defer unlock()

	plan, err := planGC(store, *keepLast, *minAge, time.Now())
	if err != nil {
		return err
	}
	if *apply {
		if err := plan.apply(store); err != nil {
			return err
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	plan.write(stdout, store.Root())
	return nil
}

// planGC finds the kept versions and the files none of them references.
func planGC(store *pipeline.LocalStore, keepLast int, minAge time.Duration, now time.Time) (*gcPlan, error) {
	list, err := pipeline.ListVersions(store)
	if err != nil {
		return nil, err
	}
	kept, err := keptVersions(store, list, keepLast)
	if err != nil {
		return nil, err
	}
	plan := &gcPlan{Kept: []string{}, Dropped: []string{}, Files: []gcFile{}, StaleLeases: []string{}, ActiveLeases: []pipeline.LeaseInfo{}}
	referenced := map[string]bool{}
	for _, m := range list {
		if !kept[m.ID] {
			plan.Dropped = append(plan.Dropped, m.ID)
			continue
		}
		plan.Kept = append(plan.Kept, m.ID)
		for _, s := range slices.Concat(m.Shards, m.Rejects) {
			referenced[s.Path] = true
		}
	}

	leases, err := pipeline.ReadLeases(store)
	if err != nil {
		return nil, err
	}
	var protectSince time.Time
	for _, l := range leases {
		if l.Stale(now) {
			plan.StaleLeases = append(plan.StaleLeases, path.Join(pipeline.LeasesDir, l.Name))
			continue
		}
		plan.ActiveLeases = append(plan.ActiveLeases, l)
		if start := l.StartedAt.Add(-leaseClockSlack); protectSince.IsZero() || start.Before(protectSince) {
			protectSince = start
		}
	}

	files, err := unreferencedFiles(store.Root(), referenced)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		f.Protected = protect(f, plan.ActiveLeases, protectSince, minAge, now)
		plan.Files = append(plan.Files, f)
	}
	return plan, nil
}

// protect returns the reason gc must keep an unreferenced file, or "". A
// file written after the start of a live lease may be a shard that its run
// has not committed yet. A file younger than minAge may belong to a run
// that took no lease.
func protect(f gcFile, active []pipeline.LeaseInfo, protectSince time.Time, minAge time.Duration, now time.Time) string {
	if !protectSince.IsZero() && !f.Modified.Before(protectSince) {
		var holders []string
		for _, l := range active {
			holders = append(holders, fmt.Sprintf("%s pid %d on %s since %s", l.Command, l.PID, l.Host, l.StartedAt.Format("15:04:05Z")))
		}
		return "written while a run that has not committed was active: " + strings.Join(holders, "; ")
	}
	if now.Sub(f.Modified) < minAge {
		return fmt.Sprintf("modified less than --min-age %s ago", minAge)
	}
	return ""
}

// keptVersions returns the versions gc keeps: all of them when keepLast
// is 0, else latest, the keepLast newest, every tagged version and every
// version with a consumer record, since retraining a model needs its data.
func keptVersions(store *pipeline.LocalStore, list []*pipeline.Manifest, keepLast int) (map[string]bool, error) {
	kept := map[string]bool{}
	if keepLast == 0 {
		for _, m := range list {
			kept[m.ID] = true
		}
		return kept, nil
	}
	latest, err := pipeline.LatestVersion(store)
	if err != nil && !errors.Is(err, pipeline.ErrNoVersions) {
		return nil, err
	}
	kept[latest] = true
	tags, err := pipeline.ReadTags(store)
	if err != nil {
		return nil, err
	}
	for _, id := range tags {
		kept[id] = true
	}
	for i, m := range list {
		if i < keepLast || m.Tag != "" {
			kept[m.ID] = true
			continue
		}
		consumers, err := pipeline.ReadConsumers(store, m.ID)
		if err != nil {
			return nil, err
		}
		if len(consumers) > 0 {
			kept[m.ID] = true
		}
	}
	return kept, nil
}

// unreferencedFiles lists the files of gcDirs that referenced lacks, and
// the temporary files of every folder in gcTempDirs.
func unreferencedFiles(root string, referenced map[string]bool) ([]gcFile, error) {
	var out []gcFile
	for _, dir := range gcTempDirs {
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", dir, err)
		}
		dataDir := slices.Contains(gcDirs, dir)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			name := path.Join(dir, e.Name())
			temp := strings.HasPrefix(e.Name(), ".tmp-")
			if !temp && (!dataDir || referenced[name] || strings.HasPrefix(e.Name(), ".")) {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // renamed or removed meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			out = append(out, gcFile{Path: name, Bytes: info.Size(), Modified: info.ModTime().UTC()})
		}
	}
	return out, nil
}

// apply deletes the manifests of dropped versions first, so no version
// ever names a missing file, then the unprotected files and stale leases.
func (p *gcPlan) apply(store *pipeline.LocalStore) error {
	for _, id := range p.Dropped {
		if err := store.Remove(path.Join(pipeline.VersionsDir, id+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting version %s: %w", id, err)
		}
	}
	for _, f := range p.Files {
		if f.Protected != "" {
			continue
		}
		if err := store.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting %s: %w", f.Path, err)
		}
		p.DeletedBytes += f.Bytes
	}
	for _, name := range p.StaleLeases {
		if err := store.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting stale lease %s: %w", name, err)
		}
	}
	p.Applied = true
	return nil
}

func (p *gcPlan) write(w io.Writer, root string) {
	fmt.Fprintf(w, "gc of %s: %d versions kept, %d dropped\n", root, len(p.Kept), len(p.Dropped))
	for _, id := range p.Dropped {
		fmt.Fprintf(w, "  drop version %s\n", id)
	}
	var deletable, protected []gcFile
	var bytes int64
	for _, f := range p.Files {
		if f.Protected != "" {
			protected = append(protected, f)
			continue
		}
		deletable = append(deletable, f)
		bytes += f.Bytes
	}

	verb := "would delete"
	if p.Applied {
		verb = "deleted"
	}
	fmt.Fprintf(w, "%s %d unreferenced files, %.2f MB\n", verb, len(deletable), float64(bytes)/1e6)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range deletable {
		fmt.Fprintf(tw, "  %s\t%d bytes\tmodified %s\n", f.Path, f.Bytes, f.Modified.Format("2006-01-02 15:04:05Z"))
	}
	tw.Flush()

	if len(protected) > 0 {
		fmt.Fprintf(w, "kept %d unreferenced files:\n", len(protected))
		for _, f := range protected {
			fmt.Fprintf(w, "  %s: %s\n", f.Path, f.Protected)
		}
	}
	if len(p.StaleLeases) > 0 {
		fmt.Fprintf(w, "%s %d stale leases of runs that stopped without releasing them\n", verb, len(p.StaleLeases))
	}
	if !p.Applied {
		fmt.Fprintln(w, "dry run: nothing was deleted; run again with --apply to delete")
	}
}
