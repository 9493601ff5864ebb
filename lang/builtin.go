package lang

// builtinVars are the builtin variables of bpftrace 0.17, plus those added
// later that a newer program may use (jiffies 0.19, usermode 0.21). argN and
// sargN are matched by pattern in IsBuiltin.
var builtinVars = map[string]bool{
	"pid": true, "tid": true, "uid": true, "gid": true, "nsecs": true,
	"elapsed": true, "numaid": true, "cpu": true, "comm": true,
	"kstack": true, "ustack": true, "retval": true, "func": true,
	"probe": true, "curtask": true, "rand": true, "cgroup": true,
	"cpid": true, "args": true, "ctx": true, "username": true,
	"jiffies": true, "usermode": true,
}

// IsBuiltin reports whether name is a builtin variable of bpftrace
// (pid, comm, arg0, sarg1, ...). The parser makes such names [Builtin]
// nodes and other bare names [Ident] nodes. Which builtins a given bpftrace
// version supports is for the caller to check.
func IsBuiltin(name string) bool {
	if builtinVars[name] {
		return true
	}
	for _, prefix := range []string{"arg", "sarg"} {
		if len(name) > len(prefix) && name[:len(prefix)] == prefix && allDigits(name[len(prefix):]) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
