// Package kubernetes tests the service's Kubernetes manifests, deploy/kubernetes: base/
// and the overlays dev and prod. It lives in the lab (test/lab, a module of its own) so
// that the Kubernetes API types are not the service's dependencies; its tests run in
// deploy/kubernetes (TestMain goes there), so every path below is relative to it. They
// decode every manifest strictly into the Kubernetes API types, so that a misspelt or
// misplaced field fails `make test` instead of being ignored by the cluster, render the
// overlays with `kubectl kustomize`, and check that the pieces fit together (selectors,
// ports, probes, grace periods, connection budget, authentication, the migration Job's
// credentials, the memory limit, the network policy and the alerts).
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
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization these directories may use;
// any other field fails the strict decode.
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
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// prometheusRule is the part of the Prometheus Operator's PrometheusRule
// (monitoring.coreos.com/v1) the manifests use; its Go types are not a dependency.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Alert       string            `json:"alert,omitempty"`
				Record      string            `json:"record,omitempty"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// notApplied are manifests kept for reference, decoded but in no kustomization.
var notApplied = []string{"secret.example.yaml"}

var overlays = []string{"overlays/dev", "overlays/prod"}

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
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &prometheusRule{}, true
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

// directory reads dir's kustomization.yaml and decodes every YAML file of dir
// strictly; every file must be a resource or a patch of the kustomization, or one of
// notApplied.
func directory(t *testing.T, dir string) (kustomization, map[string][]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s/kustomization.yaml: apiVersion %q kind %q", dir, k.APIVersion, k.Kind)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	want := slices.Clone(notApplied)
	if dir != "base" {
		want = nil
	}
	for _, r := range k.Resources {
		if !strings.Contains(r, "/") {
			want = append(want, r)
		}
	}
	for _, p := range k.Patches {
		want = append(want, p.Path)
	}
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("%s: YAML files %v, but its kustomization.yaml's resources and patches (plus %v in base) are %v", dir, files, notApplied, want)
	}
	objects := map[string][]any{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		objects[f] = decodeFile(t, dir+"/"+f, data)
	}
	return k, objects
}

// applied returns the objects of the applied files of a directory.
func applied(objects map[string][]any) []any {
	var all []any
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for f := range objects {
			if !slices.Contains(notApplied, f) && !yield(f) {
				return
			}
		}
	}) {
		all = append(all, objects[f]...)
	}
	return all
}

// render runs `kubectl kustomize dir` and decodes its output strictly.
func render(t *testing.T, dir string) []any {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the overlays are not rendered")
	}
	out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
	}
	return decodeFile(t, "kubectl kustomize "+dir, out)
}

// one returns the only object of type T among objs.
func one[T any](t *testing.T, objs []any) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

func all[T any](objs []any) []T {
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	return found
}

func TestManifestsDecodeStrictly(t *testing.T) {
	_, objects := directory(t, "base")
	if n := len(applied(objects)); n < 8 {
		t.Errorf("decoded %d applied objects in base, want at least 8", n)
	}
	for _, dir := range overlays {
		directory(t, dir)
	}
	// The decode is strict: a misspelt field fails, as does a duplicated one.
	data, err := os.ReadFile("base/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{
		bytes.Replace(data, []byte("readinessProbe:"), []byte("readynessProbe:"), 1),
		bytes.Replace(data, []byte("  revisionHistoryLimit: 5\n"), []byte("  revisionHistoryLimit: 5\n  revisionHistoryLimit: 4\n"), 1),
		bytes.Replace(data, []byte("kind: Deployment"), []byte("kind: Deploymnet"), 1),
	} {
		if bytes.Equal(bad, data) {
			t.Fatalf("a replacement did not apply to base/deployment.yaml")
		}
		if _, err := decodeStrict(bad); err == nil {
			t.Errorf("a broken deployment.yaml decoded without error")
		}
	}
}

// TestBaseFitsTogether checks base/ as written (no kubectl needed).
func TestBaseFitsTogether(t *testing.T) {
	k, objects := directory(t, "base")
	if t.Failed() {
		return
	}
	objs := applied(objects)
	checkFitTogether(t, objs)
	checkAuth(t, "base", objs, "jwks")
	dep := one[*appsv1.Deployment](t, objs)
	// kustomize's image override names the image the containers use.
	if len(k.Images) != 1 || k.Images[0].Name != dep.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("kustomization images %+v, want one entry named %q", k.Images, dep.Spec.Template.Spec.Containers[0].Image)
	}
}

// TestOverlaysFitTogether renders each overlay and checks the result.
func TestOverlaysFitTogether(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := render(t, dir)
			if t.Failed() {
				return
			}
			checkFitTogether(t, objs)
			switch dir {
			case "overlays/prod":
				checkAuth(t, dir, objs, "jwks")
				rules := all[*prometheusRule](objs)
				if len(rules) != 1 {
					t.Fatalf("%d PrometheusRules, want 1", len(rules))
				}
				checkAlerts(t, rules[0])
			case "overlays/dev":
				checkAuth(t, dir, objs, "hs256")
			}
			for _, o := range objs {
				if m, ok := o.(metav1.Object); ok && m.GetNamespace() == "" {
					t.Errorf("%T %s has no namespace: an overlay sets one", o, m.GetName())
				}
			}
		})
	}
}

// checkFitTogether checks that the objects of one rendering agree with each other.
func checkFitTogether(t *testing.T, objs []any) {
	t.Helper()
	dep := one[*appsv1.Deployment](t, objs)
	svc := one[*corev1.Service](t, objs)
	job := one[*batchv1.Job](t, objs)
	pdb := one[*policyv1.PodDisruptionBudget](t, objs)
	hpa := one[*autoscalingv2.HorizontalPodAutoscaler](t, objs)
	sa := one[*corev1.ServiceAccount](t, objs)
	np := one[*networkingv1.NetworkPolicy](t, objs)

	pod := dep.Spec.Template
	// The HorizontalPodAutoscaler owns the replica count: a `replicas` in the
	// Deployment would reset it on every apply.
	if dep.Spec.Replicas != nil {
		t.Errorf("Deployment replicas %d: leave it out, the HorizontalPodAutoscaler owns it", *dep.Spec.Replicas)
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
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 || *hpa.Spec.MinReplicas > hpa.Spec.MaxReplicas {
		t.Errorf("HPA minReplicas %v, maxReplicas %d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
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
	env := containerEnv(t, objs, c)
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

	// Resources: the autoscaler needs a CPU request; memory is limited, and the Go
	// runtime's soft limit leaves headroom below it.
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	checkGOMEMLIMIT(t, c, env["GOMEMLIMIT"])

	// Connections: every replica's pool at the autoscaler's maximum, plus the
	// migration and 10 for people, within PostgreSQL's default max_connections.
	var maxConns int
	if _, err := fmt.Sscan(env["DB_MAX_CONNS"], &maxConns); err != nil {
		t.Errorf("DB_MAX_CONNS %q: %v", env["DB_MAX_CONNS"], err)
	}
	if total := int(hpa.Spec.MaxReplicas)*maxConns + 2 + 10; total > 100 {
		t.Errorf("maxReplicas %d x DB_MAX_CONNS %d + 12 = %d connections, over max_connections 100", hpa.Spec.MaxReplicas, maxConns, total)
	}

	// The migration Job: same image, `migrate up`, runs once, as the schema's owner
	// (its own Secret, not the service's), granting APP_DB_ROLE.
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
	svcDB := secretRef(c, "DATABASE_URL")
	if svcDB == nil || svcDB.Name != "orders-database" || svcDB.Key != "url" {
		t.Errorf("serve: DATABASE_URL must come from the Secret orders-database, key url")
	}
	owner := secretRef(m, "MIGRATE_DATABASE_URL")
	if owner == nil || owner.Key != "url" || svcDB != nil && owner.Name == svcDB.Name {
		t.Errorf("migrate: MIGRATE_DATABASE_URL must come from a Secret of its own (the schema's owner), not the service's orders-database")
	} else if ref := secretRef(m, "DATABASE_URL"); ref == nil || ref.Name != owner.Name {
		t.Errorf("migrate: DATABASE_URL (required by migrate) must be the owner's Secret %s too", owner.Name)
	}
	menv := containerEnv(t, objs, m)
	if role := menv["APP_DB_ROLE"]; role == "" || role == "none" {
		t.Errorf("migrate: APP_DB_ROLE %q: name the role the service logs in through", role)
	}
	for _, ct := range []corev1.Container{c, m} {
		for _, e := range ct.Env {
			if e.ValueFrom != nil && (e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional ||
				e.ValueFrom.ConfigMapKeyRef != nil && e.ValueFrom.ConfigMapKeyRef.Optional != nil && *e.ValueFrom.ConfigMapKeyRef.Optional) {
				t.Errorf("%s: %s is an optional reference: a missing Secret would start a pod that cannot work", ct.Name, e.Name)
			}
		}
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

	checkNetworkPolicy(t, np, pod, job.Spec.Template, ports)
}

// containerEnv is a container's environment as the kubelet builds it: envFrom
// ConfigMaps (which must be among objs), then env; a value from a Secret is
// "secret:<name>/<key>".
func containerEnv(t *testing.T, objs []any, c corev1.Container) map[string]string {
	t.Helper()
	configMaps := map[string]*corev1.ConfigMap{}
	for _, cm := range all[*corev1.ConfigMap](objs) {
		configMaps[cm.Name] = cm
	}
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("%s: envFrom %+v: only ConfigMaps are expected", c.Name, from)
			continue
		}
		cm, ok := configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s: envFrom names the ConfigMap %s, which is not applied with it", c.Name, from.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom.ConfigMapKeyRef != nil:
			cm, ok := configMaps[e.ValueFrom.ConfigMapKeyRef.Name]
			if !ok {
				t.Errorf("%s: %s names the ConfigMap %s, which is not applied with it", c.Name, e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
				continue
			}
			v, ok := cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
			if !ok {
				t.Errorf("%s: %s names the key %s, which the ConfigMap %s does not have", c.Name, e.Name, e.ValueFrom.ConfigMapKeyRef.Key, cm.Name)
			}
			env[e.Name] = v
		default:
			env[e.Name] = "fieldref"
		}
	}
	return env
}

// checkAuth: serve refuses to start without exactly one key source (cmd/orders
// config.go): production checks tokens against a JWKS over https with the issuer and
// audience set; the HS256 secret is for development only.
func checkAuth(t *testing.T, where string, objs []any, want string) {
	t.Helper()
	c := one[*appsv1.Deployment](t, objs).Spec.Template.Spec.Containers[0]
	env := containerEnv(t, objs, c)
	var sources []string
	for _, k := range []string{"AUTH_JWKS_URL", "AUTH_PUBLIC_KEY_FILE", "AUTH_HS256_SECRET"} {
		if env[k] != "" {
			sources = append(sources, k)
		}
	}
	if env["AUTH_MODE"] != "" && env["AUTH_MODE"] != "jwt" {
		t.Errorf("%s: AUTH_MODE=%s", where, env["AUTH_MODE"])
	}
	if len(sources) != 1 {
		t.Fatalf("%s: authentication key sources %v: serve needs exactly one", where, sources)
	}
	switch want {
	case "jwks":
		if sources[0] != "AUTH_JWKS_URL" || !strings.HasPrefix(env["AUTH_JWKS_URL"], "https://") {
			t.Errorf("%s: want AUTH_JWKS_URL over https, got %v (%q)", where, sources, env["AUTH_JWKS_URL"])
		}
		if env["AUTH_ISSUER"] == "" || env["AUTH_AUDIENCE"] == "" {
			t.Errorf("%s: AUTH_ISSUER %q, AUTH_AUDIENCE %q: set both, so that another issuer's or API's tokens are refused", where, env["AUTH_ISSUER"], env["AUTH_AUDIENCE"])
		}
	case "hs256":
		if sources[0] != "AUTH_HS256_SECRET" || !strings.HasPrefix(env["AUTH_HS256_SECRET"], "secret:") || !strings.Contains(env["AUTH_HS256_SECRET"], "dev") {
			t.Errorf("%s: want AUTH_HS256_SECRET from a development Secret, got %v (%q)", where, sources, env["AUTH_HS256_SECRET"])
		}
	}
}

var memLimit = regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`)

// checkGOMEMLIMIT: set, and between 50 % and 90 % of the container's memory limit,
// so the runtime collects before the kernel kills, with room for what it does not count.
func checkGOMEMLIMIT(t *testing.T, c corev1.Container, v string) {
	t.Helper()
	m := memLimit.FindStringSubmatch(v)
	if m == nil {
		t.Errorf("GOMEMLIMIT %q: want a number of bytes with B, KiB, MiB or GiB, as the Go runtime reads it (a resourceFieldRef gives 100 %% of the limit)", v)
		return
	}
	var n int64
	if _, err := fmt.Sscan(m[1], &n); err != nil {
		t.Errorf("GOMEMLIMIT %q: %v", v, err)
		return
	}
	n <<= map[string]int{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	limit := c.Resources.Limits.Memory().Value()
	if ratio := float64(n) / float64(limit); ratio > 0.9 || ratio < 0.5 {
		t.Errorf("GOMEMLIMIT %s is %.0f %% of the memory limit %s: want 50-90 %%", v, ratio*100, c.Resources.Limits.Memory())
	}
}

// checkNetworkPolicy: the policy selects both pods, lets traffic in on the HTTP port
// only, and lets them reach DNS, PostgreSQL and https (the JWKS).
func checkNetworkPolicy(t *testing.T, np *networkingv1.NetworkPolicy, pod, jobPod corev1.PodTemplateSpec, ports map[string]int32) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]corev1.PodTemplateSpec{"Deployment": pod, "Job": jobPod} {
		if !s.Matches(labels.Set(p.Labels)) {
			t.Errorf("NetworkPolicy %s does not select the %s's pods %v", np.Name, name, p.Labels)
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Errorf("NetworkPolicy policyTypes %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}
	var in []string
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port == nil {
				t.Errorf("NetworkPolicy ingress rule without a port: every port is open")
				continue
			}
			if _, ok := ports[p.Port.String()]; !ok && p.Port.IntVal != ports["http"] {
				t.Errorf("NetworkPolicy lets in port %s, which the container does not have", p.Port.String())
			}
			in = append(in, p.Port.String())
		}
		if len(r.Ports) == 0 {
			t.Errorf("NetworkPolicy ingress rule without ports: every port is open")
		}
	}
	if !slices.Contains(in, "http") && !slices.Contains(in, fmt.Sprint(ports["http"])) {
		t.Errorf("NetworkPolicy lets in %v, not the http port", in)
	}
	out := map[string]bool{}
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			if p.Port != nil {
				out[p.Port.String()] = true
			}
		}
	}
	for _, p := range []string{"53", "5432", "443"} {
		if !out[p] {
			t.Errorf("NetworkPolicy egress does not allow port %s (DNS, PostgreSQL, https for the JWKS)", p)
		}
	}
}

var metricName = regexp.MustCompile(`\borders_[a-z_]+`)

// checkAlerts: the alerts docs/deploy.md recommends, on metrics that exist (every
// one is on the dashboard, whose test ties it to the metrics code).
func checkAlerts(t *testing.T, rule *prometheusRule) {
	t.Helper()
	dashboard, err := os.ReadFile("../grafana/orders-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			exprs[r.Alert] = r.Expr
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s: want a severity label and a summary annotation", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
				}
			}
			for _, name := range metricName.FindAllString(r.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !bytes.Contains(dashboard, []byte(base)) {
					t.Errorf("alert %s uses %s, which is not a metric on the dashboard", r.Alert, name)
				}
			}
		}
	}
	want := map[string]*regexp.Regexp{
		"replica down":     regexp.MustCompile(`\bup\b.*== 0`),
		"5xx ratio":        regexp.MustCompile(`orders_http_requests_total\{status=~"5\.\."\}`),
		"p99 latency":      regexp.MustCompile(`histogram_quantile\(0\.99,[\s\S]*orders_http_request_duration_seconds_bucket`),
		"command attempts": regexp.MustCompile(`orders_command_attempts_sum`),
		"pool waiters":     regexp.MustCompile(`orders_db_pool_waiting_acquires\) > 0`),
		"consumer stopped": regexp.MustCompile(`orders_consumer_stopped\) == 1`),
		"consumer lag":     regexp.MustCompile(`orders_consumer_lag_events`),
		"lag seconds":      regexp.MustCompile(`orders_consumer_lag_seconds`),
		"stats age":        regexp.MustCompile(`orders_consumer_stats_age_seconds\) > 60`),
		"migration failed": regexp.MustCompile(`kube_job_status_failed\{job_name="orders-migrate"\}`),
	}
	for what, re := range want {
		found := false
		for _, expr := range exprs {
			found = found || re.MatchString(expr)
		}
		if !found {
			t.Errorf("no alert on %s (an expression matching %s)", what, re)
		}
	}
}

func secretRef(c corev1.Container, name string) *corev1.SecretKeySelector {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

// TestNoStaleAuthWording: authentication exists, and serve refuses to start without
// it; nothing may still call its Secret optional.
func TestNoStaleAuthWording(t *testing.T) {
	stale := regexp.MustCompile(`(?i)optional until|until authentication (exists|is in place)|placeholder for (the API.s )?authentication`)
	var files []string
	for _, pattern := range []string{"base/*.yaml", "overlays/*/*.yaml", filepath.Join(testDir, "*.go"), "../../docs/deploy.md", "../../README.md", "../../compose.yaml", "../../Dockerfile*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if stale.MatchString(line) && !strings.Contains(line, "stale :=") {
				t.Errorf("%s:%d: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestScratchImageGetsCARoots: Dockerfile.scratch puts a CA bundle where Go looks
// first, and `make image` puts one in its build context (TestImageHasCARoots checks
// the built image when ORDERS_TEST_IMAGE is set).
func TestScratchImageGetsCARoots(t *testing.T) {
	dockerfile, err := os.ReadFile("../../Dockerfile.scratch")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^COPY ca-certificates\.crt /etc/ssl/certs/ca-certificates\.crt$`).Match(dockerfile) {
		t.Errorf("Dockerfile.scratch does not copy ca-certificates.crt to /etc/ssl/certs/ca-certificates.crt")
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(makefile, []byte("bin/image/ca-certificates.crt")) {
		t.Errorf("make image does not put ca-certificates.crt into its build context bin/image")
	}
}
