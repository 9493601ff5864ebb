package fleet

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

func TestAgentToken(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	a, b := AgentToken(secret, "node-a"), AgentToken(secret, "node-b")
	if a == b {
		t.Fatal("two nodes share a token")
	}
	if a != AgentToken(secret, "node-a") {
		t.Fatal("a node's token is not stable")
	}
	if AgentToken([]byte(strings.Repeat("t", 32)), "node-a") == a {
		t.Fatal("another secret gives the same token")
	}
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("token %q is not 64 hex digits", a)
	}
}

func TestPodTargetValidate(t *testing.T) {
	for _, tc := range []struct {
		t  PodTarget
		ok bool
	}{
		{PodTarget{Pod: "default/web-0"}, true},
		{PodTarget{Namespace: "shop", Labels: "app=web"}, true},
		{PodTarget{Pod: "web-0"}, false},
		{PodTarget{Pod: "a/b/c"}, false},
		{PodTarget{Pod: "/b"}, false},
		{PodTarget{Namespace: "shop"}, false},
		{PodTarget{Pod: "a/b", Labels: "x=y"}, false},
		{PodTarget{}, false},
	} {
		if err := tc.t.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: error %v, want ok=%v", tc.t, err, tc.ok)
		}
	}
}

func TestMergeNodes(t *testing.T) {
	maps := func(js string) []*output.Map {
		var ms []*output.Map
		if err := json.Unmarshal([]byte(js), &ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	schema := output.Schema{"@c": {Name: "@c", Type: output.TypeValue, Agg: output.AggCount}, "@t": {Name: "@t", Type: output.TypeValue}}
	got := MergeNodes(schema, []NodeMaps{
		{Node: "b", Maps: maps(`[{"name":"@c","type":"value","entries":[{"key":["x"],"value":2}]},{"name":"@t","type":"value","entries":[{"value":7}]}]`)},
		{Node: "a", Maps: maps(`[{"name":"@c","type":"value","entries":[{"key":["x"],"value":1},{"key":["y"],"value":5}]},{"name":"@t","type":"value","entries":[{"value":9}]}]`)},
	})
	b, _ := json.Marshal(got)
	s := string(b)
	// What the gateway stores reads back whole: the history's get_result.
	var back []MergedMap
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("stored merged maps do not read back: %v", err)
	}
	if again, _ := json.Marshal(back); string(again) != s {
		t.Errorf("merged maps changed on a round trip:\n%s\n%s", s, again)
	}
	for _, want := range []string{
		`"name":"@c"`, `{"key":["x"],"value":3}`, `{"key":["y"],"value":5}`, `"nodes":2`,
		`"per_node":true`, `{"key":["a"],"value":9}`, `{"key":["b"],"value":7}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("merged maps lack %s:\n%s", want, s)
		}
	}
}

// TestPlacementRunningContainers: only running containers have a cgroup
// a run can be confined to; a terminated sidecar or one waiting to start
// is left out.
func TestPlacementRunningContainers(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-0"}, Spec: corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "web", ContainerID: "containerd://" + strings.Repeat("a", 64), State: running},
			{Name: "done", ContainerID: "containerd://" + strings.Repeat("b", 64), State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
			{Name: "waiting", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}},
			{Name: "crio", ContainerID: "cri-o://" + strings.Repeat("c", 64), State: running},
		}}}
	pl, err := placement(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Container{{Name: "web", ID: strings.Repeat("a", 64), Runtime: "containerd"}, {Name: "crio", ID: strings.Repeat("c", 64), Runtime: "cri-o"}}
	if pl.Node != "node-1" || !slices.Equal(pl.Containers, want) {
		t.Errorf("placement %+v, want node-1 with %+v", pl, want)
	}
	p.Spec.NodeName = ""
	if _, err := placement(p); err == nil {
		t.Error("an unscheduled pod was placed")
	}
}
