//go:build k8s

package fleet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/kubetest"
)

// renderedChart is the chart's manifests as the repository ships them.
const renderedChart = "../deploy/k8s/bpftrace-mcp.yaml"

// chartManifests returns the chart's manifests: rendered by helm when the
// HELM variable names it (`make test-k8s` does), and then checked against
// the rendered file in the repository; else that file.
func chartManifests(t *testing.T) []byte {
	t.Helper()
	shipped, err := os.ReadFile(renderedChart)
	if err != nil {
		t.Fatal(err)
	}
	helm := os.Getenv("HELM")
	if helm == "" {
		t.Logf("HELM is not set: applying %s as committed, without rendering the chart", renderedChart)
		return shipped
	}
	out, err := exec.Command(helm, "template", "bpftrace-mcp", "../deploy/helm/bpftrace-mcp", "--namespace", "bpftrace-mcp").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("helm template: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("helm template: %v", err)
	}
	if _, body, _ := bytes.Cut(shipped, []byte("\n")); !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(out)) {
		t.Errorf("%s is not what the chart renders: run `make chart` and commit it", renderedChart)
	}
	return out
}

// warnings collects the warnings the API server sends (PodSecurity's
// "would violate" among them).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// TestK8sChart applies the chart's manifests server-side to a real API
// server, with strict field validation, so that a field the schema does
// not know fails; then makes the pods the DaemonSet and the Deployment
// would make, as their controllers would, so that PodSecurity admission
// enforces the namespace's labels on them. It also shows that the check
// can fail: the same admission refuses a privileged pod, and the agent's
// pod, in namespaces that enforce stricter levels.
func TestK8sChart(t *testing.T) {
	cp := kubetest.Start(t)
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(cp.Admin)
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(chartManifests(t)), 4096)
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the manifests do not decode: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, &u)
		}
	}
	kinds := map[string]bool{}
	for _, u := range objs {
		kinds[u.GetKind()] = true
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet", "Deployment", "Service", "ConfigMap"} {
		if !kinds[k] {
			t.Errorf("the chart renders no %s", k)
		}
	}

	apply := func(u *unstructured.Unstructured) error {
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		data, err := u.MarshalJSON()
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
			FieldManager: "bpftrace-mcp-test", Force: new(true), FieldValidation: metav1.FieldValidationStrict})
		return err
	}
	// Twice: a second apply of the same manifests changes nothing and
	// conflicts with nothing.
	for round := range 2 {
		for _, u := range objs {
			if err := apply(u); err != nil {
				t.Fatalf("apply %s %s/%s (round %d): %v", u.GetKind(), u.GetNamespace(), u.GetName(), round+1, err)
			}
			msgs := w.take()
			if round > 0 {
				continue
			}
			// The namespace warns at baseline: PodSecurity reads the
			// DaemonSet's pod template, and says what the agent needs
			// beyond baseline; the gateway needs nothing beyond it.
			switch u.GetKind() {
			case "DaemonSet":
				if !strings.Contains(strings.Join(msgs, "\n"), `would violate PodSecurity "baseline`) {
					t.Errorf("applying the agents' DaemonSet drew no PodSecurity baseline warning: %q", msgs)
				}
			case "Deployment":
				if len(msgs) > 0 {
					t.Errorf("the gateway's Deployment drew warnings: %q", msgs)
				}
			}
		}
	}

	// Unknown fields are refused, not dropped: the strict check can fail.
	bad := objs[0].DeepCopy()
	for _, u := range objs {
		if u.GetKind() == "ConfigMap" {
			bad = u.DeepCopy()
		}
	}
	bad.Object["dataa"] = map[string]any{"x": "y"}
	if err := apply(bad); err == nil || !strings.Contains(err.Error(), "dataa") {
		t.Errorf("a manifest with an unknown field was applied: %v", err)
	}

	// No controller manager runs here: make the default service account
	// pods need, and the pods the controllers would make, on a node.
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	dsList, err := cs.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(dsList.Items) != 1 {
		t.Fatalf("DaemonSets in %s: %v (%d)", ns, err, len(dsList.Items))
	}
	depList, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(depList.Items) != 1 {
		t.Fatalf("Deployments in %s: %v (%d)", ns, err, len(depList.Items))
	}
	agent := podFrom(dsList.Items[0].Spec.Template, "agent-node-1")
	gateway := podFrom(depList.Items[0].Spec.Template, "gateway-0")
	for _, p := range []*corev1.Pod{agent, gateway} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Errorf("the pod of %s was refused in its own namespace: %v", p.Name, err)
		}
	}

	// The check can fail. A namespace that enforces restricted refuses a
	// privileged pod and the agent's pod, and admits the gateway's; one
	// that enforces baseline refuses the agent's pod too: only the chart's
	// own namespace label lets the agent in.
	for _, level := range []string{"restricted", "baseline"} {
		name := "psa-" + level
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/enforce-version": "latest"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, sa := range []string{"default", "bpftrace-mcp-gateway"} {
			if _, err := cs.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		privileged := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "privileged"}, Spec: corev1.PodSpec{NodeName: "node-1",
			Containers: []corev1.Container{{Name: "c", Image: "x", SecurityContext: &corev1.SecurityContext{Privileged: new(true)}}}}}
		for _, tc := range []struct {
			pod   *corev1.Pod
			admit bool
		}{
			{privileged, false},
			{agent.DeepCopy(), false},
			{gateway.DeepCopy(), true},
		} {
			tc.pod.ResourceVersion = ""
			_, err := cs.CoreV1().Pods(name).Create(ctx, tc.pod, metav1.CreateOptions{})
			switch {
			case tc.admit && err != nil:
				t.Errorf("%s: pod %s refused: %v", name, tc.pod.Name, err)
			case !tc.admit && err == nil:
				t.Errorf("%s: pod %s admitted; PodSecurity %s should refuse it", name, tc.pod.Name, level)
			case !tc.admit && !(apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")):
				t.Errorf("%s: pod %s refused, but not by PodSecurity: %v", name, tc.pod.Name, err)
			}
		}
	}
}

// podFrom makes the pod a controller would make from a template, already
// scheduled.
func podFrom(tpl corev1.PodTemplateSpec, name string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: *tpl.ObjectMeta.DeepCopy(), Spec: *tpl.Spec.DeepCopy()}
	p.Name, p.Namespace = name, ""
	p.Spec.NodeName = "node-1"
	return p
}
