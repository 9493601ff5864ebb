package lang_test

import (
	"errors"
	"fmt"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// A policy walks the parsed program, never the raw text, so a call written
// with a space or a comment before its parenthesis is still found.
func ExampleInspect() {
	src := `t:syscalls:sys_enter_execve
/comm != "bash"/
{
	system /* no */ ("id");
}`
	prog, err := lang.Parse("", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ap := range prog.Probes[0].AttachPoints {
		fmt.Println(ap.Canonical, ap.Parts)
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		if c, ok := n.(*lang.Call); ok {
			fmt.Printf("%s: call %s\n", c.Pos(), c.Name)
		}
		return true
	})
	// Output:
	// tracepoint [syscalls sys_enter_execve]
	// 4:2: call system
}

func ExampleParse_errors() {
	_, err := lang.Parse("trace.bt", "BEGIN {\n\tprintf(\"%d\\n\", pid\n}\n")
	var list lang.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Printf("%d:%d-%d:%d: %s\n", e.Pos.Line, e.Pos.Column, e.End.Line, e.End.Column, e.Msg)
		}
	}
	// Output:
	// 3:1-3:2: syntax error, unexpected }, expecting ) or ","
}
