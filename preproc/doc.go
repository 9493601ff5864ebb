// Package preproc finds C preprocessor constructs in the text of a bpftrace
// program, before anything else reads it.
//
// bpftrace hands part of a program to clang's preprocessor: every line its
// lexer reads as a directive ("#" anywhere outside a string, a comment or
// "$#") and the raw text of every struct, union or enum it meets. bpftrace
// 0.17 to 0.23 then replace each identifier of the program that names a
// macro by the macro's text. So "#define Y cat(...)" changes what the program
// does after every check written over its text, and "%:include" (the digraph
// spelling of #include) inside a struct definition makes clang read a file.
//
// [Check] models how bpftrace's lexer splits a program into code, strings,
// comments and raw C text (as the lexers of 0.17 to 0.24 do; they differ in
// where a struct type name ends, and the scanner takes the latest end), and
// reports every construct that could
// reach the preprocessor, in any spelling: directives, digraphs, trigraphs,
// line continuations, _Pragma and __has_include. Where the model is not sure
// a region is raw C text it treats it as such, and raw C text may hold no
// string, comment or backslash, so that no version's lexer can see code
// where the model sees a string or a comment.
//
// The package knows nothing of the rest of the project: it reads text and
// returns findings with positions, rules and hints. It is stdlib-only and
// safe for concurrent use.
package preproc
