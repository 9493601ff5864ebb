package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Agent is one node's bpftrace-mcp agent as the API server sees it.
type Agent struct {
	Node      string `json:"node"`
	Pod       string `json:"pod" jsonschema:"namespace/name of the agent's pod"`
	Addr      string `json:"-"` // host:port of the agent's MCP endpoint
	Ready     bool   `json:"ready"`
	NodeReady bool   `json:"node_ready"`
	// Labels are the node's labels, for selection by label.
	Labels map[string]string `json:"-"`
}

// DiscoveryOptions says where the agents are.
type DiscoveryOptions struct {
	// Namespace of the agents' DaemonSet.
	Namespace string
	// Selector is the label selector of the agents' pods, e.g.
	// "app.kubernetes.io/name=bpftrace-mcp".
	Selector string
	// Port is the agents' MCP port when their pod does not name a container
	// port "mcp". Zero means 8080.
	Port int
}

// Discovery keeps the set of agents current by watching their pods and
// the nodes they run on. The zero value is not usable; call NewDiscovery.
type Discovery struct {
	cs       kubernetes.Interface
	o        DiscoveryOptions
	sel      labels.Selector
	pods     cache.SharedIndexInformer
	nodes    cache.SharedIndexInformer
	factory  informers.SharedInformerFactory
	nfactory informers.SharedInformerFactory

	mu       sync.Mutex
	onChange []func()
}

// NewDiscovery returns a Discovery over the API server cs reaches. It
// watches nothing until Start.
func NewDiscovery(cs kubernetes.Interface, o DiscoveryOptions) (*Discovery, error) {
	if o.Namespace == "" {
		return nil, errors.New("fleet: the agents' namespace is required")
	}
	sel, err := labels.Parse(o.Selector)
	if err != nil {
		return nil, fmt.Errorf("fleet: agent selector %q: %w", o.Selector, err)
	}
	if o.Port == 0 {
		o.Port = 8080
	}
	d := &Discovery{cs: cs, o: o, sel: sel}
	d.factory = informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithNamespace(o.Namespace),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = sel.String() }))
	d.nfactory = informers.NewSharedInformerFactory(cs, 0)
	d.pods = d.factory.Core().V1().Pods().Informer()
	d.nodes = d.nfactory.Core().V1().Nodes().Informer()
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { d.changed() },
		UpdateFunc: func(any, any) { d.changed() },
		DeleteFunc: func(any) { d.changed() },
	}
	if _, err := d.pods.AddEventHandler(notify); err != nil {
		return nil, fmt.Errorf("fleet: watch pods: %w", err)
	}
	if _, err := d.nodes.AddEventHandler(notify); err != nil {
		return nil, fmt.Errorf("fleet: watch nodes: %w", err)
	}
	return d, nil
}

// OnChange registers f to be called (from the watch's goroutine) whenever
// an agent's pod or a node changes.
func (d *Discovery) OnChange(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onChange = append(d.onChange, f)
}

func (d *Discovery) changed() {
	d.mu.Lock()
	fs := slices.Clone(d.onChange)
	d.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Start begins watching and waits until the first list has arrived, so
// that Agents is complete when it returns. The watch ends with ctx.
//
// The first list must arrive within a minute: an API server that cannot be
// reached, or a role that may not list pods and nodes, is an error to
// report rather than a wait without end.
func (d *Discovery) Start(ctx context.Context) error {
	d.factory.Start(ctx.Done())
	d.nfactory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), d.pods.HasSynced, d.nodes.HasSynced) {
		return fmt.Errorf("fleet: the first list of agents did not arrive (can the gateway reach the API server, and may it list pods in %s and nodes?): %w",
			d.o.Namespace, context.Cause(syncCtx))
	}
	return nil
}

// Agents returns every agent known now, sorted by node name. An agent is
// usable when Ready and NodeReady are both true.
func (d *Discovery) Agents() []Agent {
	nodes := map[string]*corev1.Node{}
	for _, o := range d.nodes.GetStore().List() {
		if n, ok := o.(*corev1.Node); ok {
			nodes[n.Name] = n
		}
	}
	var out []Agent
	for _, o := range d.pods.GetStore().List() {
		p, ok := o.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" || p.DeletionTimestamp != nil || !d.sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		a := Agent{Node: p.Spec.NodeName, Pod: p.Namespace + "/" + p.Name, Ready: podReady(p)}
		if p.Status.PodIP != "" {
			a.Addr = net.JoinHostPort(p.Status.PodIP, strconv.Itoa(mcpPort(p, d.o.Port)))
		} else {
			a.Ready = false
		}
		if n := nodes[a.Node]; n != nil {
			a.NodeReady = nodeReady(n)
			a.Labels = n.Labels
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Agent) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// PodPlacement is where a pod runs: its node and its containers' ids as
// the runtime knows them ("containerd://…").
type PodPlacement struct {
	Namespace, Name, Node string
	Containers            []Container
}

// Container is one running container of a pod.
type Container struct {
	Name string `json:"name"`
	// ID is the runtime's id without its scheme (the part after "://").
	ID string `json:"id"`
	// Runtime is the scheme: containerd, cri-o, docker.
	Runtime string `json:"runtime"`
}

// ErrPodNotFound is returned when a target pod does not exist.
var ErrPodNotFound = errors.New("pod not found")

// ResolvePod looks a pod up through the API and says where it runs.
func (d *Discovery) ResolvePod(ctx context.Context, namespace, name string) (*PodPlacement, error) {
	p, err := d.cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s/%s (list pods with kubectl get pods -n %s)", ErrPodNotFound, namespace, name, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: look up pod %s/%s: %w", namespace, name, err)
	}
	return placement(p)
}

// ResolvePods looks up the pods of a namespace that match a label selector.
func (d *Discovery) ResolvePods(ctx context.Context, namespace, selector string) ([]*PodPlacement, error) {
	if _, err := labels.Parse(selector); err != nil {
		return nil, fmt.Errorf("fleet: pod selector %q: %w", selector, err)
	}
	list, err := d.cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("fleet: list pods in %s matching %q: %w", namespace, selector, err)
	}
	var out []*PodPlacement
	for i := range list.Items {
		pl, err := placement(&list.Items[i])
		if err != nil {
			continue // not scheduled yet: nothing to trace
		}
		out = append(out, pl)
	}
	return out, nil
}

func placement(p *corev1.Pod) (*PodPlacement, error) {
	if p.Spec.NodeName == "" {
		return nil, fmt.Errorf("pod %s/%s is not scheduled on a node yet", p.Namespace, p.Name)
	}
	pl := &PodPlacement{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			continue // waiting or terminated: no cgroup to confine a run to
		}
		rt, id, ok := strings.Cut(cs.ContainerID, "://")
		if !ok || id == "" {
			continue
		}
		pl.Containers = append(pl.Containers, Container{Name: cs.Name, ID: id, Runtime: rt})
	}
	return pl, nil
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func mcpPort(p *corev1.Pod, def int) int {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == "mcp" && port.ContainerPort > 0 {
				return int(port.ContainerPort)
			}
		}
	}
	return def
}
