// Package fleet is the gateway that traces many nodes from one MCP
// endpoint.
//
// It finds the agents (bpftrace-mcp --http, one per node, run by a
// DaemonSet) through the Kubernetes API with client-go, watching their pods
// rather than polling; it talks to each agent as an MCP client over
// Streamable HTTP, with a credential of that agent's own; it fans a program
// out to the nodes a caller selects (all, by name, by label, or where a pod
// runs) and merges what comes back: typed maps are combined as the
// aggregations they are, lines are tagged with their node, and a node that
// fails or disappears yields a partial result with its own status, never a
// hang.
//
// It knows Kubernetes and the agents' MCP surface; it does not run bpftrace
// itself. The policy it applies before fan-out is the same package the
// agents apply again on arrival.
package fleet
