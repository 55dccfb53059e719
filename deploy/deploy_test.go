// Package deploy holds the Kubernetes manifests for running winnow as an
// Indexed Job over files and as a Deployment of Kafka workers. Its test checks
// them offline against the Kubernetes API types.
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

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/winnow-data/winnow/pipeline"
	_ "github.com/winnow-data/winnow/stages" // registers the stages that Validate looks up
)

// manifests holds every object decoded from the YAML files of this folder.
type manifests struct {
	jobs        []*batchv1.Job
	deployments []*appsv1.Deployment
	budgets     []*policyv1.PodDisruptionBudget
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	claims      map[string]*corev1.PersistentVolumeClaim
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
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		decode(&d)
		m.deployments = append(m.deployments, &d)
	case "policy/v1 PodDisruptionBudget":
		var pdb policyv1.PodDisruptionBudget
		decode(&pdb)
		m.budgets = append(m.budgets, &pdb)
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
		t.Fatalf("%s: unexpected apiVersion %q and kind %q: this test decodes batch/v1 Job, apps/v1 Deployment, policy/v1 PodDisruptionBudget and v1 ConfigMap, Secret and PersistentVolumeClaim", where, meta.APIVersion, meta.Kind)
	}
}

// flagValue returns the value of the first of names found in args, given
// as "NAME VALUE" or "NAME=VALUE", or "" when none is there or a name is
// last.
func flagValue(args []string, names ...string) string {
	for _, name := range names {
		for i, arg := range args {
			if value, ok := strings.CutPrefix(arg, name+"="); ok {
				return value
			}
			if arg == name && i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.jobs) != 1 {
		t.Errorf("found %d Jobs, want 1", len(m.jobs))
	}
	if len(m.deployments) != 1 {
		t.Errorf("found %d Deployments, want 1", len(m.deployments))
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

	p := checkPod(t, m, spec.Template)
	if got := flagValue(p.args, "--worker"); got != "$(JOB_COMPLETION_INDEX)" {
		t.Errorf("--worker = %q, want $(JOB_COMPLETION_INDEX)", got)
	}
	count, err := strconv.Atoi(flagValue(p.args, "--workers"))
	if err != nil {
		t.Errorf("--workers: %v", err)
	} else if int32(count) != *spec.Completions {
		t.Errorf("--workers %d != completions %d", count, *spec.Completions)
	}
	if !slices.ContainsFunc(p.container.Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" }) {
		t.Error("env lacks JOB_COMPLETION_INDEX, which $(JOB_COMPLETION_INDEX) in args expands")
	}
	root := flagValue(p.args, "-o")
	if root == "" {
		t.Error("args lack -o ROOT")
	} else if !onClaim(root, p.claimMounts) {
		t.Errorf("-o %s is not below a mounted claim (%v)", root, p.claimMounts)
	}

	cfg, err := pipeline.ParseConfig([]byte(p.config))
	if err != nil {
		t.Fatalf("config %s: %v", p.configPath, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("config %s: %v", p.configPath, err)
	}
}

func TestKafkaDeploymentInvariants(t *testing.T) {
	m := loadManifests(t)
	for _, d := range m.deployments {
		t.Run(d.Name, func(t *testing.T) {
			checkDeployment(t, m, d)
		})
	}
}

func checkDeployment(t *testing.T, m manifests, d *appsv1.Deployment) {
	spec := d.Spec
	if spec.Replicas == nil {
		t.Error("replicas is not set")
	} else if *spec.Replicas < 1 {
		t.Errorf("replicas = %d, want 1 or more", *spec.Replicas)
	}
	checkSelector(t, m, "selector", spec.Selector, spec.Template.Labels)
	if rp := spec.Template.Spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy = %q, want Always, the only value a Deployment accepts", rp)
	}
	if g := spec.Template.Spec.TerminationGracePeriodSeconds; g == nil {
		t.Error("terminationGracePeriodSeconds is not set, so a replica gets the default 30 s to drain and commit its last version on SIGTERM")
	} else if *g <= 30 {
		t.Errorf("terminationGracePeriodSeconds = %d, want more than the default 30, so a replica can drain and commit its last version on SIGTERM", *g)
	}

	p := checkPod(t, m, spec.Template)
	if got := flagValue(p.args, "--worker", "-worker"); got != "" {
		t.Errorf("args set --worker %s, but Kafka workers split the topic through their consumer group", got)
	}
	checkProbes(t, p)
	checkKafkaConfig(t, m, p)
}

// checkSelector checks that selector selects the pods labelled podLabels
// and none of the Job's pods, which carry the same name label.
func checkSelector(t *testing.T, m manifests, field string, selector *metav1.LabelSelector, podLabels map[string]string) {
	if selector == nil {
		t.Errorf("%s is missing", field)
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Errorf("%s: %v", field, err)
		return
	}
	if !sel.Matches(labels.Set(podLabels)) {
		t.Errorf("%s %s does not match the pod template labels %v", field, sel, podLabels)
	}
	for _, job := range m.jobs {
		if sel.Matches(labels.Set(job.Spec.Template.Labels)) {
			t.Errorf("%s %s also matches the pods of Job %q", field, sel, job.Name)
		}
	}
}

// checkProbes checks that the liveness and readiness probes, and the startup
// probe if there is one, request /metrics, the only path that
// `winnow run --metrics-addr` serves.
func checkProbes(t *testing.T, p pod) {
	probes := map[string]*corev1.Probe{
		"livenessProbe":  p.container.LivenessProbe,
		"readinessProbe": p.container.ReadinessProbe,
	}
	if p.container.StartupProbe != nil {
		probes["startupProbe"] = p.container.StartupProbe
	}
	for name, probe := range probes {
		if probe == nil {
			t.Errorf("%s is missing", name)
			continue
		}
		get := probe.HTTPGet
		if get == nil {
			t.Errorf("%s is not an httpGet probe", name)
			continue
		}
		if get.Path != "/metrics" {
			t.Errorf("%s path = %q, want /metrics", name, get.Path)
		}
		port := get.Port.String()
		for _, cp := range p.container.Ports {
			if cp.Name != "" && cp.Name == port {
				port = strconv.Itoa(int(cp.ContainerPort))
			}
		}
		if port != p.metricsPort {
			t.Errorf("%s port %q is container port %s, want the metrics port %s", name, get.Port.String(), port, p.metricsPort)
		}
	}
}

// checkKafkaConfig parses and validates the config of a Kafka worker in the
// pod's environment, as `winnow run` does, and checks that it reads a topic
// until it is stopped, commits while it runs and writes to the shared claim.
func checkKafkaConfig(t *testing.T, m manifests, p pod) {
	// The brokers default to WINNOW_KAFKA_BROKERS, which the pod gets from
	// its Secret.
	for name, value := range secretEnv(m, p.container) {
		t.Setenv(name, value)
	}
	cfg, err := pipeline.ParseConfig([]byte(p.config))
	if err != nil {
		t.Fatalf("config %s: %v", p.configPath, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("config %s: %v", p.configPath, err)
	}
	if cfg.Input.Format != pipeline.FormatKafka {
		t.Errorf("config %s: input.format = %q, want %s", p.configPath, cfg.Input.Format, pipeline.FormatKafka)
	}
	if len(cfg.Input.Kafka.Brokers) == 0 {
		t.Errorf("config %s: input.kafka.brokers is empty and no envFrom Secret sets %s", p.configPath, pipeline.KafkaBrokersEnv)
	}
	if idle := cfg.Input.Kafka.StopWhenIdle; idle != 0 {
		t.Errorf("config %s: input.kafka.stop_when_idle = %s, want 0: a replica that stops when idle exits, and the Deployment restarts it", p.configPath, idle)
	}
	if every := cfg.Output.CommitEvery; every == nil || (every.Docs <= 0 && every.Seconds <= 0) {
		t.Errorf("config %s: output.commit_every = %+v, want a docs or seconds limit above 0, or a replica commits only when it stops", p.configPath, every)
	}

	root := flagValue(p.args, "-o", "--output", "-output")
	if root == "" {
		root = cfg.Output.Root
	}
	if !onClaim(root, p.claimMounts) {
		t.Errorf("output root %q is not below a mounted claim (%v): every replica must commit to the same shared root", root, p.claimMounts)
	}
}

// secretEnv returns the variables that the container's envFrom Secrets of
// deploy/ set.
func secretEnv(m manifests, c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef == nil {
			continue
		}
		s, ok := m.secrets[from.SecretRef.Name]
		if !ok {
			continue
		}
		for name, value := range s.Data {
			env[from.Prefix+name] = string(value)
		}
		for name, value := range s.StringData {
			env[from.Prefix+name] = value
		}
	}
	return env
}

func TestDisruptionBudgetsSelectKafkaWorkers(t *testing.T) {
	m := loadManifests(t)
	for _, pdb := range m.budgets {
		t.Run(pdb.Name, func(t *testing.T) {
			if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
				t.Error("sets neither maxUnavailable nor minAvailable")
			}
			if mu := pdb.Spec.MaxUnavailable; mu != nil && mu.String() == "0" {
				t.Error("maxUnavailable 0 blocks every node drain")
			}
			selected := 0
			for _, d := range m.deployments {
				sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
				if err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					selected++
					checkSelector(t, m, "selector", pdb.Spec.Selector, d.Spec.Template.Labels)
				}
			}
			if selected != 1 {
				t.Errorf("selects the pods of %d Deployments of deploy/, want 1", selected)
			}
		})
	}
}

// pod holds what checkPod found in a pod template, for the checks of the
// Job and the Deployment that come after it.
type pod struct {
	container   corev1.Container
	args        []string // command and args
	metricsPort string   // the port of --metrics-addr
	configPath  string   // the -c argument
	config      string   // the text of the -c file, from its ConfigMap
	claimMounts []string // mount paths of ReadWriteMany claims
}

// checkPod checks what the Job and the Deployment share: one container that
// runs `winnow run`, its resources, scrape annotations, Secrets and volumes.
func checkPod(t *testing.T, m manifests, template corev1.PodTemplateSpec) pod {
	containers := template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("found %d containers, want 1", len(containers))
	}
	p := pod{container: containers[0]}
	c := p.container
	if c.Image == "" {
		t.Error("container image is empty")
	}
	p.args = append(slices.Clone(c.Command), c.Args...)
	if len(p.args) < 2 || p.args[0] != "winnow" || p.args[1] != "run" {
		t.Errorf("command and args = %q, want them to start with winnow run", p.args)
	}

	checkResources(t, c)
	p.metricsPort = checkMetrics(t, template.Annotations, c, p.args)
	checkSecrets(t, m, c)
	p.configPath = flagValue(p.args, "-c", "--config", "-config")
	p.config, p.claimMounts = checkVolumes(t, m, template.Spec, c, p.configPath)
	return p
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
// --metrics-addr listens on, that the container declares that port, and
// that the path is /metrics, the path the metrics server serves. It returns
// the port.
func checkMetrics(t *testing.T, annotations map[string]string, c corev1.Container, args []string) string {
	if annotations["prometheus.io/scrape"] != "true" {
		t.Errorf("annotation prometheus.io/scrape = %q, want \"true\"", annotations["prometheus.io/scrape"])
	}
	if annotations["prometheus.io/path"] != "/metrics" {
		t.Errorf("annotation prometheus.io/path = %q, want /metrics", annotations["prometheus.io/path"])
	}
	addr := flagValue(args, "--metrics-addr", "-metrics-addr")
	if addr == "" {
		t.Fatal("args lack --metrics-addr")
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	if annotations["prometheus.io/port"] != port {
		t.Errorf("annotation prometheus.io/port = %q, want %q from --metrics-addr %s", annotations["prometheus.io/port"], port, addr)
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return strconv.Itoa(int(p.ContainerPort)) == port }) {
		t.Errorf("container ports %v lack port %s of --metrics-addr %s", c.Ports, port, addr)
	}
	return port
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
		t.Error("envFrom has no secretRef, but the pod takes its credentials and connection settings from a Secret")
	}
}

// checkVolumes checks that every volume names a ConfigMap or claim of
// deploy/, that every claim is ReadWriteMany, and that the -c path is a key
// of the ConfigMap mounted above it. It returns the text of that key and the
// mount paths of the claims.
func checkVolumes(t *testing.T, m manifests, spec corev1.PodSpec, c corev1.Container, configPath string) (config string, claimMounts []string) {
	if configPath == "" {
		t.Fatal("args lack -c CONFIG")
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	configFound := false
	for _, v := range spec.Volumes {
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
			configFound = true
			config = raw
		case v.PersistentVolumeClaim != nil:
			pvc, ok := m.claims[v.PersistentVolumeClaim.ClaimName]
			if !ok {
				t.Errorf("volume %q names claim %q, which is not in deploy/", v.Name, v.PersistentVolumeClaim.ClaimName)
				continue
			}
			if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
				t.Errorf("claim %q has access modes %v, want ReadWriteMany: every worker writes to the root", pvc.Name, pvc.Spec.AccessModes)
				continue
			}
			if mounted {
				claimMounts = append(claimMounts, mountPath)
			}
		default:
			t.Errorf("volume %q is neither a ConfigMap nor a claim", v.Name)
		}
	}
	if !configFound {
		t.Fatalf("-c %s is not a key of a ConfigMap mounted at %s", configPath, filepath.Dir(configPath))
	}
	return config, claimMounts
}

// onClaim reports whether path lies below one of the mount paths.
func onClaim(path string, mountPaths []string) bool {
	for _, mp := range mountPaths {
		if rel, err := filepath.Rel(mp, path); err == nil && filepath.IsAbs(path) && rel != "." && !strings.HasPrefix(rel, "..") {
			return true
		}
	}
	return false
}
