// Package deploy holds the Kubernetes manifests for running winnow as an
// Indexed Job. Its test checks them offline against the Kubernetes API types.
package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/winnow-data/winnow/pipeline"
	_ "github.com/winnow-data/winnow/stages" // registers the stages that Validate looks up
)

// manifests holds every object decoded from the YAML files of this folder.
type manifests struct {
	jobs       []*batchv1.Job
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	claims     map[string]*corev1.PersistentVolumeClaim
}

// documentSeparator matches a YAML document separator line.
var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// loadManifests decodes every document of every .yaml file in this folder
// into its Kubernetes API type, failing on unknown fields and kinds.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .yaml files in deploy/")
	}
	m := manifests{
		configMaps: map[string]*corev1.ConfigMap{},
		secrets:    map[string]*corev1.Secret{},
		claims:     map[string]*corev1.PersistentVolumeClaim{},
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documentSeparator.Split(string(raw), -1) {
			if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
				continue
			}
			m.add(t, file+" document "+strconv.Itoa(i+1), []byte(doc))
		}
	}
	return m
}

// stripComments removes whole-line YAML comments, to tell an empty document
// from one that holds an object.
func stripComments(doc []byte) []byte {
	var out [][]byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, nil)
}

// add decodes one document strictly into the type of its apiVersion and
// kind.
func (m *manifests) add(t *testing.T, where string, doc []byte) {
	t.Helper()
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	decode := func(into any) {
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s (%s %s): %v", where, meta.APIVersion, meta.Kind, err)
		}
	}
	switch meta.APIVersion + " " + meta.Kind {
	case "batch/v1 Job":
		var job batchv1.Job
		decode(&job)
		m.jobs = append(m.jobs, &job)
	case "v1 ConfigMap":
		var cm corev1.ConfigMap
		decode(&cm)
		m.configMaps[cm.Name] = &cm
	case "v1 Secret":
		var s corev1.Secret
		decode(&s)
		m.secrets[s.Name] = &s
	case "v1 PersistentVolumeClaim":
		var pvc corev1.PersistentVolumeClaim
		decode(&pvc)
		m.claims[pvc.Name] = &pvc
	default:
		t.Fatalf("%s: unexpected apiVersion %q and kind %q: the check knows batch/v1 Job and v1 ConfigMap, Secret and PersistentVolumeClaim", where, meta.APIVersion, meta.Kind)
	}
}

// flagValue returns the argument after flag in args, or "" when flag is
// missing or last.
func flagValue(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.jobs) != 1 {
		t.Fatalf("found %d Jobs, want 1", len(m.jobs))
	}
}

func TestManifestsRejectUnknownField(t *testing.T) {
	doc := []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec: {completionsMode: Indexed}\n")
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(doc, &job); err == nil {
		t.Fatal("a Job with the misspelt field completionsMode decoded without error")
	}
}

func TestIndexedJobInvariants(t *testing.T) {
	m := loadManifests(t)
	for _, job := range m.jobs {
		t.Run(job.Name, func(t *testing.T) {
			checkJob(t, m, job)
		})
	}
}

func checkJob(t *testing.T, m manifests, job *batchv1.Job) {
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode = %v, want Indexed", spec.CompletionMode)
	}
	if spec.Completions == nil || spec.Parallelism == nil {
		t.Fatal("completions and parallelism must both be set")
	}
	if *spec.Completions != *spec.Parallelism {
		t.Errorf("completions %d != parallelism %d", *spec.Completions, *spec.Parallelism)
	}
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q, want Never, so a failed worker is retried as a new pod at its index", spec.Template.Spec.RestartPolicy)
	}

	containers := spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("found %d containers, want 1", len(containers))
	}
	c := containers[0]
	if c.Image == "" {
		t.Error("container image is empty")
	}
	args := append(slices.Clone(c.Command), c.Args...)
	if len(args) < 2 || args[0] != "winnow" || args[1] != "run" {
		t.Errorf("command and args = %q, want them to start with winnow run", args)
	}
	if got := flagValue(args, "--worker"); got != "$(JOB_COMPLETION_INDEX)" {
		t.Errorf("--worker = %q, want $(JOB_COMPLETION_INDEX)", got)
	}
	count, err := strconv.Atoi(flagValue(args, "--workers"))
	if err != nil {
		t.Errorf("--workers: %v", err)
	} else if int32(count) != *spec.Completions {
		t.Errorf("--workers %d != completions %d", count, *spec.Completions)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" }) {
		t.Error("env lacks JOB_COMPLETION_INDEX, which $(JOB_COMPLETION_INDEX) in args expands")
	}
	if flagValue(args, "-o") == "" {
		t.Error("args lack -o ROOT")
	}

	checkResources(t, c)
	checkMetrics(t, spec.Template.Annotations, args)
	checkSecrets(t, m, c)
	checkVolumes(t, m, job, c, flagValue(args, "-c"))
}

func checkResources(t *testing.T, c corev1.Container) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[name]; !ok {
			t.Errorf("resources.requests lacks %s", name)
		}
		if _, ok := c.Resources.Limits[name]; !ok {
			t.Errorf("resources.limits lacks %s", name)
		}
	}
}

// checkMetrics checks that the pod's scrape annotations name the port that
// --metrics-addr listens on.
func checkMetrics(t *testing.T, annotations map[string]string, args []string) {
	if annotations["prometheus.io/scrape"] != "true" {
		t.Errorf("annotation prometheus.io/scrape = %q, want \"true\"", annotations["prometheus.io/scrape"])
	}
	addr := flagValue(args, "--metrics-addr")
	if addr == "" {
		t.Fatal("args lack --metrics-addr")
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	if annotations["prometheus.io/port"] != port {
		t.Errorf("annotation prometheus.io/port = %q, want %q from --metrics-addr %s", annotations["prometheus.io/port"], port, addr)
	}
}

func checkSecrets(t *testing.T, m manifests, c corev1.Container) {
	found := false
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		found = true
		if _, ok := m.secrets[from.SecretRef.Name]; !ok {
			t.Errorf("envFrom names Secret %q, which is not in deploy/", from.SecretRef.Name)
		}
	}
	if !found {
		t.Error("envFrom has no secretRef for the S3 credentials")
	}
}

// checkVolumes checks that every volume names a ConfigMap or claim of
// deploy/, that the claim is ReadWriteMany, and that the -c path is a key of
// the ConfigMap mounted above it and holds a valid winnow config.
func checkVolumes(t *testing.T, m manifests, job *batchv1.Job, c corev1.Container, configPath string) {
	if configPath == "" {
		t.Fatal("args lack -c CONFIG")
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	configChecked := false
	for _, v := range job.Spec.Template.Spec.Volumes {
		mountPath, mounted := mounts[v.Name]
		if !mounted {
			t.Errorf("volume %q is not mounted", v.Name)
		}
		switch {
		case v.ConfigMap != nil:
			cm, ok := m.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("volume %q names ConfigMap %q, which is not in deploy/", v.Name, v.ConfigMap.Name)
				continue
			}
			if filepath.Dir(configPath) != mountPath {
				continue
			}
			key := filepath.Base(configPath)
			raw, ok := cm.Data[key]
			if !ok {
				t.Errorf("-c %s: ConfigMap %q has no key %q", configPath, cm.Name, key)
				continue
			}
			configChecked = true
			cfg, err := pipeline.ParseConfig([]byte(raw))
			if err != nil {
				t.Errorf("ConfigMap %q key %q: %v", cm.Name, key, err)
				continue
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("ConfigMap %q key %q: %v", cm.Name, key, err)
			}
		case v.PersistentVolumeClaim != nil:
			pvc, ok := m.claims[v.PersistentVolumeClaim.ClaimName]
			if !ok {
				t.Errorf("volume %q names claim %q, which is not in deploy/", v.Name, v.PersistentVolumeClaim.ClaimName)
				continue
			}
			if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
				t.Errorf("claim %q has access modes %v, want ReadWriteMany: every worker writes to the root", pvc.Name, pvc.Spec.AccessModes)
			}
		default:
			t.Errorf("volume %q is neither a ConfigMap nor a claim", v.Name)
		}
	}
	if !configChecked {
		t.Errorf("-c %s is not a key of a ConfigMap mounted at %s", configPath, filepath.Dir(configPath))
	}
}
