# Writes the preprocessor guard corpus: python3 corpus.py corpus.txt
# Generates preproc/testdata/corpus.txt. Each hostile case names the rule
# and the text of the construct the guard must point at; the position is
# computed here from that marker, independently of the guard.
I = "preprocessor.include"; D = "preprocessor.define"; C = "preprocessor.conditional"
P = "preprocessor.pragma"; L = "preprocessor.line"; M = "preprocessor.message"
X = "preprocessor.directive"; G = "preprocessor.digraph"; T = "preprocessor.trigraph"
N = "preprocessor.continuation"; S = "preprocessor.c-definition"
B = 'BEGIN { exit(); }\n'
hostile = []
def h(name, rule, marker, prog, nth=0):
    hostile.append((name, rule, marker, prog, nth))

# 1. The attacks of the issue.
h("define-cat", D, "#", '#define Y cat("/etc/shadow")\nBEGIN { Y; exit(); }\n')
h("define-system", D, "#", '#define Y system("id")\nBEGIN { Y; exit(); }\n')
h("define-predicate-rewrite", D, "#", '#define Y 1) || (1\ntracepoint:syscalls:sys_enter_openat /Y + 0/ { @[comm] = count(); }\n')
h("digraph-include-in-struct", G, "%:", 'struct x { int a;\n%:include "/etc/shadow"\n};\n' + B)
# 2. Every directive name, plain.
for name, rule in [("include", I), ("include_next", I), ("import", I), ("embed", I), ("define", D), ("undef", D),
                   ("if", C), ("ifdef", C), ("ifndef", C), ("elif", C), ("elifdef", C), ("elifndef", C), ("else", C), ("endif", C),
                   ("pragma", P), ("line", L), ("error", M), ("warning", M), ("ident", X), ("sccs", X), ("assert", X), ("unassert", X)]:
    arg = {"include": '"/etc/shadow"', "include_next": "<shadow>", "import": '"/etc/shadow"', "embed": '"/etc/shadow"',
           "define": "X 1", "undef": "X", "if": "1", "ifdef": "X", "ifndef": "X", "elif": "0", "elifdef": "X", "elifndef": "X",
           "pragma": "once", "line": '1 "/etc/shadow"', "error": "boom", "warning": "w", "ident": '"x"', "sccs": '"x"',
           "assert": "machine(x)", "unassert": "machine"}.get(name, "")
    h("plain-" + name, rule, "#", "#" + name + (" " + arg if arg else "") + "\n" + B)
h("null-directive", X, "#", "#\n" + B)
h("null-directive-spaces", X, "#", "   #   \n" + B)
h("gnu-line-marker", L, "#", '# 1 "/etc/shadow"\n' + B)
h("gnu-line-marker-flags", L, "#", '# 42 "x.c" 1 3\n' + B)
h("token-paste", X, "##", 'BEGIN { @a##b = 1; }\n')
# 3. Spacing, comments and positions.
h("indented-define", D, "#", "    #define Y 1\n" + B)
h("tab-define", D, "#", "\t#define Y 1\n" + B)
h("space-after-hash", D, "#", "#   define Y 1\n" + B)
h("tab-after-hash", D, "#", "#\tdefine Y 1\n" + B)
h("comment-before-hash", D, "#", "/* c */ #define Y 1\n" + B)
h("comment-after-hash", D, "#", "# /* c */ define Y 1\n" + B)
h("comment-between-lines", D, "#", "/* a\n b */\n#define Y 1\n" + B)
h("after-line-comment", I, "#", "// setup\n#include \"/etc/shadow\"\n" + B)
h("mid-line-after-probe", D, "#", 'BEGIN { exit(); } #define Y 1\n')
h("inside-probe-body", D, "#", 'BEGIN {\n  #define Y 1\n  exit();\n}\n')
h("inside-predicate", D, "#", 'tracepoint:syscalls:sys_enter_openat / pid > 0 #define Y\n/ { exit(); }\n')
h("in-map-key", X, "#", 'BEGIN { @[#] = 1; }\n')
h("after-string", D, "#", 'BEGIN { printf("x"); }\n"" #define Y 1\n')
h("after-closed-comment-same-line", I, "#", 'BEGIN { exit(); } /* x */ #include "/etc/shadow"\n')
h("crlf-lines", D, "#", "BEGIN { exit(); }\r\n#define Y 1\r\n")
h("last-line-no-newline", D, "#", B + "#define Y 1")
h("second-probe", D, "#", 'BEGIN { exit(); }\nEND { exit(); }\n#define Z system("id")\n')
h("hash-bang-indented", X, "#", "  #!/usr/bin/bpftrace\n" + B)
h("hash-in-path", X, "#", 'uprobe:/bin/bash#x:readline { exit(); }\n')
h("hash-after-dollar-var", D, "#", 'BEGIN { $x = 1; }\n$x #define Y\n')
h("hash-unicode-name", X, "#", '#définir Y 1\n' + B)
h("hash-upper", X, "#", '#DEFINE Y 1\n' + B)
h("hash-number-prefix", L, "#", '#7 "x"\n' + B)
# 4. Digraphs.
h("digraph-define", G, "%:", '%:define Y cat("/etc/shadow")\nBEGIN { Y; exit(); }\n')
h("digraph-include", G, "%:", '%:include "/etc/shadow"\n' + B)
h("digraph-indented", G, "%:", '   %:include <x>\n' + B)
h("digraph-space", G, "%:", '%: include "/etc/shadow"\n' + B)
h("digraph-paste", G, "%:%:", 'BEGIN { @a %:%: b = 1; }\n')
h("digraph-in-union", G, "%:", 'union u { int a;\n%:include "/etc/shadow"\n};\n' + B)
h("digraph-in-enum", G, "%:", 'enum e { A,\n%:include "/etc/shadow"\n};\n' + B)
h("digraph-lbracket", G, "<:", 'BEGIN { @a<:1:> = 1; }\n')
h("digraph-rbracket", G, ":>", 'BEGIN { $x = 1 :> 2; }\n')
h("digraph-lbrace", G, "<%", 'BEGIN <% exit(); %>\n')
h("digraph-rbrace", G, "%>", 'BEGIN { exit(); %>\n')
h("digraph-braces-in-struct", G, "<%", 'struct x <% int a; %>;\n' + B)
h("digraph-pragma", G, "%:", '%:pragma clang system_header\n' + B)
h("digraph-if", G, "%:", '%:if __has_include("/etc/shadow")\n%:endif\n' + B)
h("digraph-mid-struct-line", G, "%:", 'struct x { int a; %:include "/etc/shadow"\n};\n' + B)
# 5. Trigraphs.
h("trigraph-define", T, "??=", '??=define Y cat("/etc/shadow")\nBEGIN { Y; exit(); }\n')
h("trigraph-include", T, "??=", '??=include "/etc/shadow"\n' + B)
h("trigraph-in-struct", T, "??=", 'struct x { int a;\n??=include "/etc/shadow"\n};\n' + B)
h("trigraph-backslash", T, "??/", 'BEGIN { exit(); } ??/\n#define Y 1\n')
h("trigraph-brackets", T, "??(", 'BEGIN { @a??(1??) = 1; }\n')
h("trigraph-braces", T, "??<", 'BEGIN ??< exit(); ??>\n')
h("trigraph-bar", T, "??!", 'BEGIN { $x = 1 ??! 2; }\n')
h("trigraph-caret", T, "??'", "BEGIN { $x = 1 ??' 2; }\n")
h("trigraph-tilde", T, "??-", 'BEGIN { $x = ??-1; }\n')
h("trigraph-in-struct-brace", T, "??>", 'struct x { int a; ??> ;\n' + B)
# 6. Continuations.
h("continuation-into-directive", N, "\\", 'BEGIN { exit(); } \\\n#define Y 1\n')
h("continuation-splits-hash-name", D, "#", '#def\\\nine Y 1\n' + B)
h("continuation-before-name", D, "#", '# \\\n define Y 1\n' + B)
h("continuation-space", N, "\\", 'BEGIN { exit(); } \\  \n' + B)
h("continuation-crlf", N, "\\", 'BEGIN { exit(); } \\\r\n' + B)
h("continuation-in-string", N, "\\", 'BEGIN { printf("a\\\n#define Y 1\n"); }\n')
h("continuation-at-eof", N, "\\", B + "\\")
h("backslash-in-struct", N, "\\", 'struct x { int a; \\\n};\n' + B)
h("backslash-ucn-in-struct", N, "\\", 'struct x { int a\\u0023; };\n' + B)
h("continuation-digraph-split", N, "\\", 'struct x { int a;\n%\\\n:include "/etc/shadow"\n};\n' + B)
# 7. Struct-definition smuggling.
h("struct-define", D, "#", 'struct x {\n#define Y 1\n int a; };\n' + B)
h("struct-include", I, "#", 'struct x {\n#include "/etc/shadow"\n};\n' + B)
h("struct-include-indented", I, "#", 'struct x {\n   #  include "/etc/shadow"\n};\n' + B)
h("struct-include-mid-line", I, "#", 'struct x { int a; #include "/etc/shadow"\n};\n' + B)
h("union-include", I, "#", 'union x {\n#include "/etc/shadow"\n};\n' + B)
h("enum-include", I, "#", 'enum x {\n#include "/etc/shadow"\n};\n' + B)
h("struct-pragma", P, "#", 'struct x {\n#pragma once\n int a; };\n' + B)
h("struct-embed", I, "#", 'struct x { char a[] = {\n#embed "/etc/shadow"\n}; };\n' + B)
h("struct-has-include", C, "__has_include", 'struct x { int a[__has_include("/etc/shadow")]; };\n' + B)
h("struct-Pragma-op", P, "_Pragma", 'struct x { _Pragma("once") int a; };\n' + B)
h("struct-ms-pragma", P, "__pragma", 'struct x { __pragma(once) int a; };\n' + B)
h("struct-comment-hides", S, "/*", 'struct x { int a; /* } */\n#include "/etc/shadow"\n};\n' + B)
h("struct-line-comment", S, "//", 'struct x { int a; // }\n};\n' + B)
h("struct-string", S, '"', 'struct x { char *a = "}"; };\n' + B)
h("nested-struct-include", I, "#", 'struct x { struct { int b; } y;\n#include "/etc/shadow"\n};\n' + B)
h("cast-type-include", I, "#", 'BEGIN { $x = (struct\n#include "/etc/shadow"\n*)0; }\n')
h("cast-type-string-desync", S, '"', 'BEGIN { $x = (struct a, "x) " #define Y 1 "); }\n')
h("struct-after-number", S, '"', 'BEGIN { $x = 1struct "x) "; }\n#define Y 1\n')
h("struct-after-path-comment", S, "//", 'uprobe:/bin/struct // ) /*\n#include "/etc/shadow"\n*/ { exit(); }\n')
h("struct-keyword-in-attach", S, '"', 'kprobe:struct "x) " { exit(); }\n')
h("enum-value-directive", D, "#", 'enum e { A =\n#define B 2\nB };\n' + B)
h("struct-then-define", D, "#", 'struct x { int a; };\n#define Y cat("/etc/shadow")\nBEGIN { Y; exit(); }\n')
# 8. Operators spelled as identifiers.
h("Pragma-in-code", P, "_Pragma", 'BEGIN { _Pragma("x"); exit(); }\n')
h("has-include-in-code", C, "__has_include", 'BEGIN { $x = __has_include("/etc/shadow"); }\n')
h("has-include-next", C, "__has_include_next", 'BEGIN { $x = __has_include_next(<x>); }\n')
h("has-embed", C, "__has_embed", 'BEGIN { $x = __has_embed("/etc/shadow"); }\n')
# 9. Macros that rewrite programs.
h("define-exit-hides-cat", D, "#", '#define E cat("/etc/shadow")\nBEGIN { E; }\n')
h("define-attach-point", D, "#", '#define P tracepoint:syscalls:sys_enter_read\nP { @[comm] = count(); }\n')
h("define-map-key", D, "#", '#define K system("id")\nBEGIN { @[K] = 1; exit(); }\n')
h("define-empty-predicate", D, "#", '#define Y\ntracepoint:syscalls:sys_enter_openat /Y 1/ { exit(); }\n')
h("define-comment-closer", D, "#", '#define Y */\nBEGIN { exit(); }\n')
h("define-function-like", D, "#", '#define R(p) cat(p)\nBEGIN { R("/etc/shadow"); }\n')
h("define-recursive", D, "#", '#define A B\n#define B cat("/etc/shadow")\nBEGIN { A; }\n')
h("define-predicate-or", D, "#", '#define ANY || 1\ntracepoint:syscalls:sys_enter_openat /pid == 1 ANY/ { exit(); }\n')
h("undef-then-define", D, "#", '#undef Y\n#define Y 1\n' + B)
h("define-in-comment-end", D, "#", '/* x */#define Y 1\n' + B)
h("ifdef-block", C, "#", '#ifdef X\nBEGIN { system("id"); }\n#endif\n' + B)
h("if-zero-hides", C, "#", '#if 0\nBEGIN { cat("/etc/shadow"); }\n#endif\n' + B)
h("error-leak", M, "#", '#error __FILE__\n' + B)
h("line-rename", L, "#", '#line 1 "/etc/shadow"\n' + B)
h("pragma-push-macro", P, "#", '#pragma push_macro("Y")\n' + B)
h("include-macro-name", I, "#", '#include FILE\n' + B)
h("include-angle", I, "#", '#include </etc/shadow>\n' + B)
h("include-proc", I, "#", '#include "/proc/self/environ"\n' + B)

lookalikes = []
def ok(name, prog):
    lookalikes.append((name, prog))
ok("printf-percent", 'BEGIN { printf("%d%%\\n", 50 % 7); exit(); }\n')
ok("modulo", 'BEGIN { $a = 10; $b = $a % 3; printf("%d\\n", $b); exit(); }\n')
ok("modulo-assign", 'BEGIN { $a = 10; $a %= 3; printf("%d\\n", $a); exit(); }\n')
ok("hash-in-string", 'BEGIN { printf("#define X 1\\n"); exit(); }\n')
ok("include-in-string", 'BEGIN { printf("#include <stdio.h>\\n"); exit(); }\n')
ok("digraph-in-string", 'BEGIN { printf("%%:include <:x:> <%% %%>\\n"); exit(); }\n')
ok("trigraph-in-string", 'BEGIN { printf("what??=\\n"); exit(); }\n')
ok("hash-in-line-comment", '// #define Y cat("/etc/shadow")\nBEGIN { exit(); }\n')
ok("hash-in-block-comment", '/*\n#include "/etc/shadow"\n%:define X\n??=if\n*/\nBEGIN { exit(); }\n')
ok("shebang-later-line", '// comment\n#!/bin/sh\nBEGIN { exit(); }\n')
ok("shebang", '#!/usr/bin/bpftrace\nBEGIN { exit(); }\n')
ok("shebang-env", '#!/usr/bin/env bpftrace\ntracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\n')
ok("less-than-ternary", 'BEGIN { $a = 1; $b = 2; $c = $a < $b ? $a : $b; printf("%d\\n", $c); exit(); }\n')
ok("ternary-tight", 'BEGIN { $a = 1; $c = $a<2?3 : 4; printf("%d\\n", $c); exit(); }\n')
ok("comparison-colon-path", 'tracepoint:syscalls:sys_enter_openat /pid < 100/ { @[comm] = count(); }\n')
ok("greater-equal", 'BEGIN { $a = 3; if ($a >= 2) { printf("ok\\n"); } exit(); }\n')
ok("shift-ops", 'BEGIN { $a = 1 << 3; $b = $a >> 1; printf("%d\\n", $b); exit(); }\n')
ok("question-in-string", 'BEGIN { printf("really??\\n"); exit(); }\n')
ok("cast-struct", 'BEGIN { $t = (struct task_struct *)curtask; printf("%d\\n", $t->pid); exit(); }\n')
ok("struct-definition", 'struct foo { int a; char b[16]; };\nBEGIN { exit(); }\n')
ok("struct-definition-multiline", 'struct foo {\n  int a;\n  unsigned long b;\n};\nBEGIN { exit(); }\n')
ok("union-definition", 'union u { int a; long b; };\nBEGIN { exit(); }\n')
ok("enum-definition", "enum e { A = 1, B = 'b' };\nBEGIN { exit(); }\n")
ok("struct-then-string", 'struct foo { int a; };\nBEGIN { printf("#%d\\n", 1); exit(); }\n')
ok("sizeof-struct", 'struct foo { int a; };\nBEGIN { printf("%d\\n", sizeof(struct foo)); exit(); }\n')
ok("positional-count", 'BEGIN { printf("%d\\n", $#); exit(); }\n')
ok("map-named-struct", 'BEGIN { @struct = 1; @enum["a"] = 2; exit(); }\n')
ok("var-named-union", 'BEGIN { $union = 1; printf("%d\\n", $union); exit(); }\n')
ok("ident-with-struct", 'tracepoint:syscalls:sys_enter_openat { @[args->filename, "x"] = count(); }\n')
ok("pragma-word", 'BEGIN { printf("_Pragma __has_include\\n"); exit(); }\n')
ok("comment-with-backslash", '// a trailing backslash \\\nBEGIN { exit(); }\n')
ok("escaped-quote", 'BEGIN { printf("\\"#define\\" \\\\\\n"); exit(); }\n')
ok("string-with-comment-marks", 'BEGIN { printf("/* #include */ // %%:\\n"); exit(); }\n')
ok("division-predicate", 'tracepoint:syscalls:sys_enter_openat /pid / 2 > 0/ { exit(); }\n')
ok("wildcard-probe", 'tracepoint:syscalls:sys_enter_* { @[probe] = count(); }\n')
ok("interval", 'interval:s:1 { printf("%d\\n", 1); exit(); }\n')
ok("unroll-modulo", 'BEGIN { $i = 0; unroll(3) { $i = ($i + 1) % 2; } exit(); }\n')
ok("percent-colon-spaced", 'BEGIN { $a = 5; $b = $a % 2 ? 1 : 0; printf("%d\\n", $b); exit(); }\n')
ok("less-colon-in-format", 'BEGIN { printf("<:%d:>\\n", 1); exit(); }\n')
ok("hist", 'tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @bytes = hist(args->ret); }\n')
ok("macro-keyword-comment", '// bpftrace 0.24: macro add(a) { a + 1 }\nBEGIN { exit(); }\n')

import sys
def pos(prog, marker, nth):
    i = -1
    for _ in range(nth + 1):
        i = prog.index(marker, i + 1)
    return prog.count("\n", 0, i) + 1, i - (prog.rfind("\n", 0, i) + 1) + 1
out = ["# The preprocessor guard's corpus, written by corpus.py: edit the cases there.",
       "# '=== refuse NAME RULE LINE:COLUMN' is a hostile program the guard must refuse",
       "# with RULE at that position (its first finding); '=== allow NAME' is a look-alike",
       "# that must pass. A program runs to the next '===' line; CR bytes are written as <CR>.", ""]
for name, rule, marker, prog, nth in hostile:
    l, c = pos(prog, marker, nth)
    out.append(f"=== refuse {name} {rule} {l}:{c}")
    out.append(prog.replace("\r", "<CR>").rstrip("\n") if not prog.endswith("\\") and not prog.endswith("Y 1") else prog.replace("\r", "<CR>"))
for name, prog in lookalikes:
    out.append(f"=== allow {name}")
    out.append(prog.rstrip("\n"))
names = [x[0] for x in hostile] + [x[0] for x in lookalikes]
assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
print(len(hostile), "hostile", len(lookalikes), "look-alikes")
