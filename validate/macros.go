package validate

import (
	"sync"

	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// keywords are the words bpftrace's lexer reads as keywords in some
// release, and the type and probe words that stand where an identifier
// could.
var keywords = map[string]bool{
	"if": true, "else": true, "while": true, "for": true, "unroll": true, "return": true,
	"break": true, "continue": true, "let": true, "struct": true, "union": true, "enum": true,
	"macro": true, "fn": true, "config": true, "import": true, "sizeof": true, "offsetof": true,
	"true": true, "false": true, "bpftrace": true, "perf": true, "raw": true,
}

// helperWords are the names of every builtin, function and map function
// of every release the docs know.
var helperWords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, h := range docs.Helpers() {
		m[h.Name] = true
	}
	return m
})

// reservedWord reports a word that some bpftrace release reads as other
// than a plain identifier, and so would not replace by a macro (its lexer
// matches builtins, functions, keywords and providers before names): a
// macro may not be named so (preproc.Reserved). Every release's words
// count, so that no version's reading is guessed.
func reservedWord(w string) bool {
	return keywords[w] || helperWords()[w] || lang.CanonicalProvider(w) != ""
}
