package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Selection says which nodes a program runs on. The zero Selection is
// every node with a ready agent. Fields combine: a node must pass each one
// that is set.
type Selection struct {
	Nodes        []string `json:"nodes,omitempty" jsonschema:"node names; empty for every node"`
	NodeSelector string   `json:"node_selector,omitempty" jsonschema:"a label selector over nodes, e.g. 'kubernetes.io/arch=amd64,topology.kubernetes.io/zone in (a,b)'"`
}

// PodTarget confines a run to the containers of pods, wherever they run:
// one pod by name, or the pods of a namespace that match labels.
type PodTarget struct {
	Pod       string `json:"pod,omitempty" jsonschema:"namespace/name of one pod"`
	Namespace string `json:"namespace,omitempty" jsonschema:"with labels: the pods' namespace"`
	Labels    string `json:"labels,omitempty" jsonschema:"with namespace: a label selector over its pods, e.g. 'app=web'"`
}

// ErrNoAgents is returned when a selection matches no usable agent.
var ErrNoAgents = errors.New("no ready agent matches")

// Validate checks the target's form.
func (t PodTarget) Validate() error {
	switch {
	case t.Pod != "" && (t.Namespace != "" || t.Labels != ""):
		return errors.New("target: give either pod, or namespace with labels")
	case t.Pod != "":
		ns, name, ok := strings.Cut(t.Pod, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("target: pod %q: write it namespace/name, e.g. default/web-0", t.Pod)
		}
	case t.Namespace == "" || t.Labels == "":
		return errors.New("target: give pod (namespace/name), or both namespace and labels")
	}
	return nil
}

// placements resolves the target to where its pods run.
func (d *Discovery) placements(ctx context.Context, t PodTarget) ([]*PodPlacement, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.Pod != "" {
		ns, name, _ := strings.Cut(t.Pod, "/")
		pl, err := d.ResolvePod(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		return []*PodPlacement{pl}, nil
	}
	pls, err := d.ResolvePods(ctx, t.Namespace, t.Labels)
	if err != nil {
		return nil, err
	}
	if len(pls) == 0 {
		return nil, fmt.Errorf("%w: no scheduled pod in %s matches %q", ErrPodNotFound, t.Namespace, t.Labels)
	}
	return pls, nil
}

// Select returns the ready agents the selection names. Nodes named
// explicitly that have no ready agent are reported in missing, so the
// caller can say so rather than silently trace fewer nodes.
func (d *Discovery) Select(s Selection) (agents []Agent, missing []string, err error) {
	var sel labels.Selector
	if s.NodeSelector != "" {
		if sel, err = labels.Parse(s.NodeSelector); err != nil {
			return nil, nil, fmt.Errorf("node_selector %q: %w", s.NodeSelector, err)
		}
	}
	found := map[string]bool{}
	for _, a := range d.Agents() {
		if len(s.Nodes) > 0 && !slices.Contains(s.Nodes, a.Node) {
			continue
		}
		if sel != nil && !sel.Matches(labels.Set(a.Labels)) {
			continue
		}
		if !a.Ready || !a.NodeReady {
			continue
		}
		found[a.Node] = true
		agents = append(agents, a)
	}
	for _, n := range s.Nodes {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(agents) == 0 {
		return nil, missing, fmt.Errorf("%w the selection (list_nodes shows the nodes and their agents)", ErrNoAgents)
	}
	return agents, missing, nil
}
