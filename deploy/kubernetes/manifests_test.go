// Package kubernetes holds the service's Kubernetes manifests; its test decodes every
// one of them strictly into the Kubernetes API types, so that a misspelt or misplaced
// field fails `make test` instead of being ignored by the cluster, and checks that the
// pieces fit together (selectors, ports, probes, grace periods, connection budget).
package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization this directory may use; any
// other field fails the strict decode.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
		IncludeTemplates bool              `json:"includeTemplates,omitempty"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// notApplied are manifests kept for reference, decoded but not in kustomization.yaml.
var notApplied = []string{"secret.example.yaml"}

// newObject returns the API type of a manifest's apiVersion and kind. Kinds not
// listed here are a test failure: add them deliberately.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1 Secret":
		return &corev1.Secret{}, true
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "batch/v1 Job":
		return &batchv1.Job{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	}
	return nil, false
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeFile decodes every document of a manifest file strictly.
func decodeFile(t *testing.T, name string, data []byte) []any {
	t.Helper()
	var objects []any
	for i, doc := range documentSeparator.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj, err := decodeStrict([]byte(doc))
		if err != nil {
			t.Errorf("%s, document %d: %v", name, i+1, err)
			continue
		}
		objects = append(objects, obj)
	}
	return objects
}

func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj, ok := newObject(tm.APIVersion, tm.Kind)
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q: not a type this test knows; add it to newObject", tm.APIVersion, tm.Kind)
	}
	// UnmarshalStrict fails on unknown and duplicate fields.
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// manifests reads kustomization.yaml and decodes every YAML file of the directory.
func manifests(t *testing.T) (kustomization, map[string][]any) {
	t.Helper()
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: apiVersion %q kind %q", k.APIVersion, k.Kind)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	want := slices.Sorted(slices.Values(append(slices.Clone(k.Resources), notApplied...)))
	if !slices.Equal(files, want) {
		t.Errorf("YAML files here %v, but kustomization.yaml's resources plus %v are %v", files, notApplied, want)
	}
	objects := map[string][]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objects[f] = decodeFile(t, f, data)
	}
	return k, objects
}

// one returns the only object of type T among the applied manifests.
func one[T any](t *testing.T, objects map[string][]any) T {
	t.Helper()
	var found []T
	for f, objs := range objects {
		if slices.Contains(notApplied, f) {
			continue
		}
		for _, o := range objs {
			if v, ok := o.(T); ok {
				found = append(found, v)
			}
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

func TestManifestsDecodeStrictly(t *testing.T) {
	_, objects := manifests(t)
	n := 0
	for _, objs := range objects {
		n += len(objs)
	}
	if n < 7 {
		t.Errorf("decoded %d objects, want at least 7", n)
	}
	// The decode is strict: a misspelt field fails, as does a duplicated one.
	data, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{
		bytes.Replace(data, []byte("readinessProbe:"), []byte("readynessProbe:"), 1),
		bytes.Replace(data, []byte("  replicas: 3\n"), []byte("  replicas: 3\n  replicas: 4\n"), 1),
		bytes.Replace(data, []byte("kind: Deployment"), []byte("kind: Deploymnet"), 1),
	} {
		if _, err := decodeStrict(bad); err == nil {
			t.Errorf("a broken deployment.yaml decoded without error")
		}
	}
}

func TestManifestsFitTogether(t *testing.T) {
	k, objects := manifests(t)
	if t.Failed() {
		return
	}
	dep := one[*appsv1.Deployment](t, objects)
	svc := one[*corev1.Service](t, objects)
	job := one[*batchv1.Job](t, objects)
	pdb := one[*policyv1.PodDisruptionBudget](t, objects)
	hpa := one[*autoscalingv2.HorizontalPodAutoscaler](t, objects)
	sa := one[*corev1.ServiceAccount](t, objects)

	pod := dep.Spec.Template
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
		t.Errorf("Deployment replicas %v, want 3", dep.Spec.Replicas)
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", sel, pod.Labels)
	}
	for key, v := range svc.Spec.Selector {
		if pod.Labels[key] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels %v", key, v, pod.Labels)
		}
	}
	if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !s.Matches(labels.Set(pod.Labels)) {
		t.Errorf("PodDisruptionBudget selector %v does not match the pod labels (%v)", pdb.Spec.Selector, err)
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != dep.Name || hpa.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
		t.Errorf("HPA targets %+v, want the Deployment %s", hpa.Spec.ScaleTargetRef, dep.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != *dep.Spec.Replicas {
		t.Errorf("HPA minReplicas %v, want the Deployment's %d", hpa.Spec.MinReplicas, *dep.Spec.Replicas)
	}

	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"serve"}) || len(c.Command) != 0 {
		t.Errorf("container runs %v %v, want the image's entrypoint with [serve]", c.Command, c.Args)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	env := envOf(c)
	if env["LISTEN_ADDR"] != fmt.Sprintf(":%d", ports["http"]) {
		t.Errorf("LISTEN_ADDR %q, but the http port is %d", env["LISTEN_ADDR"], ports["http"])
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok && p.TargetPort.IntVal != ports["http"] {
			t.Errorf("Service port %s targets %s, which the container does not have", p.Name, p.TargetPort.String())
		}
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			t.Errorf("%s probe: %+v, want GET %s", name, p, path)
			return
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("%s probe port %s is not a container port", name, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")

	// Shutdown: the grace period covers the preStop sleep and SHUTDOWN_TIMEOUT.
	shutdown, err := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Errorf("SHUTDOWN_TIMEOUT: %v", err)
	}
	var sleep time.Duration
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 1 {
		t.Errorf("no preStop sleep: endpoints would not drain before SIGTERM")
	} else {
		sleep = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= sleep+shutdown {
		t.Errorf("terminationGracePeriodSeconds %v must exceed preStop %v + SHUTDOWN_TIMEOUT %v", g, sleep, shutdown)
	}

	// Resources: the autoscaler needs a CPU request; memory is limited.
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	// Connections: every replica's pool at the autoscaler's maximum, plus the
	// migration and 10 for people, within PostgreSQL's default max_connections.
	var maxConns int
	if _, err := fmt.Sscan(env["DB_MAX_CONNS"], &maxConns); err != nil {
		t.Errorf("DB_MAX_CONNS %q: %v", env["DB_MAX_CONNS"], err)
	}
	if total := int(hpa.Spec.MaxReplicas)*maxConns + 2 + 10; total > 100 {
		t.Errorf("maxReplicas %d x DB_MAX_CONNS %d + 12 = %d connections, over max_connections 100", hpa.Spec.MaxReplicas, maxConns, total)
	}

	// The migration Job: same image and database secret, `migrate up`, runs once.
	if len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("the Job has %d containers, want 1", len(job.Spec.Template.Spec.Containers))
	}
	m := job.Spec.Template.Spec.Containers[0]
	if !slices.Equal(m.Args, []string{"migrate", "up"}) || m.Image != c.Image {
		t.Errorf("Job runs %s %v, want %s [migrate up]", m.Image, m.Args, c.Image)
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("Job restartPolicy %q", job.Spec.Template.Spec.RestartPolicy)
	}
	for _, ct := range []corev1.Container{c, m} {
		ref := envRef(ct, "DATABASE_URL")
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "orders-database" || ref.SecretKeyRef.Key != "url" {
			t.Errorf("%s: DATABASE_URL must come from the Secret orders-database, key url", ct.Name)
		}
	}
	if ref := envRef(c, "AUTH_HS256_SECRET"); ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Optional == nil || !*ref.SecretKeyRef.Optional {
		t.Errorf("AUTH_HS256_SECRET must be an optional Secret reference until authentication is in place")
	}

	// Hardening, for both pods.
	for _, p := range []struct {
		name string
		spec corev1.PodSpec
	}{{"Deployment", pod.Spec}, {"Job", job.Spec.Template.Spec}} {
		if p.spec.ServiceAccountName != sa.Name || p.spec.AutomountServiceAccountToken == nil || *p.spec.AutomountServiceAccountToken {
			t.Errorf("%s: service account %q, automount %v; want %s without a token", p.name, p.spec.ServiceAccountName, p.spec.AutomountServiceAccountToken, sa.Name)
		}
		ps := p.spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser != 65532 {
			t.Errorf("%s: pod securityContext %+v, want runAsNonRoot as 65532", p.name, ps)
		}
		for _, ct := range p.spec.Containers {
			sc := ct.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("%s container %s: securityContext %+v, want read-only root, no privilege escalation, non-root, drop ALL", p.name, ct.Name, sc)
			}
		}
	}

	// kustomize's image override names the image the containers use.
	if len(k.Images) != 1 || k.Images[0].Name != c.Image {
		t.Errorf("kustomization images %+v, want one entry named %q", k.Images, c.Image)
	}
}

// TestKustomizeBuilds runs `kubectl kustomize` when kubectl is installed.
func TestKustomizeBuilds(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	// What kustomize renders must decode strictly too.
	objs := decodeFile(t, "kubectl kustomize output", out)
	if len(objs) != 6 {
		t.Errorf("kustomize rendered %d objects, want 6", len(objs))
	}
}

func envOf(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func envRef(c corev1.Container, name string) *corev1.EnvVarSource {
	for _, e := range c.Env {
		if e.Name == name {
			return e.ValueFrom
		}
	}
	return nil
}
