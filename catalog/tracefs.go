package catalog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// tracefsCandidates are where tracefs is mounted, in the order bpftrace's
// own tracefs::path() tries them: the modern mount point first, then the
// debugfs automount that bpftrace 0.17 hard-codes.
var tracefsCandidates = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// findTracefs returns the tracefs directory to read: dir when set, else the
// first candidate holding available_events.
func findTracefs(dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "available_events")); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("find tracefs: no available_events in %s: %w", dir, ErrNoTracefs)
			}
			return "", fmt.Errorf("find tracefs: %w", err)
		}
		return dir, nil
	}
	var errs []error
	for _, d := range tracefsCandidates {
		_, err := os.Stat(filepath.Join(d, "available_events"))
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("find tracefs: %w", errors.Join(errs...))
	}
	return "", fmt.Errorf("find tracefs: no available_events in %s: %w",
		strings.Join(tracefsCandidates, " or "), ErrNoTracefs)
}

// readTracepoints reads available_events, the exact set of tracepoints
// bpftrace lists and can attach to (events/ also holds ftrace's internal
// events, which are not attachable).
func readTracepoints(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "available_events"))
	if err != nil {
		return nil, fmt.Errorf("read tracepoints: %w", err)
	}
	names := make([]string, 0, bytes.Count(data, []byte{'\n'}))
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || !strings.Contains(line, ":") {
			continue
		}
		names = append(names, "tracepoint:"+line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tracepoints: %w", err)
	}
	return sortUnique(names), nil
}

// readFilterFunctions reads available_filter_functions: one traceable kernel
// function per line, with " [module]" after module functions. Names bpftrace
// cannot attach to (".part.N" clones, ftrace's placeholders for functions it
// could not resolve) are dropped, as bpftrace drops them.
func readFilterFunctions(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, "available_filter_functions"))
	if err != nil {
		return nil, fmt.Errorf("read traceable functions: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), " ")
		if name == "" || strings.Contains(name, ".part.") || strings.HasPrefix(name, "__ftrace_invalid_address__") {
			continue
		}
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read traceable functions: %w", err)
	}
	return sortUnique(names), nil
}

func sortUnique(s []string) []string {
	if len(s) == 0 {
		return s
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// readFormat reads one tracepoint's format file. name is "category:event".
func readFormat(dir, name string) ([]Field, error) {
	cat, ev, ok := strings.Cut(name, ":")
	if !ok || cat == "" || ev == "" || strings.ContainsAny(name, "/") || cat == ".." || ev == ".." {
		return nil, fmt.Errorf("read format of %q: not category:event: %w", name, ErrNotFound)
	}
	data, err := os.ReadFile(filepath.Join(dir, "events", cat, ev, "format"))
	if err != nil {
		return nil, fmt.Errorf("read format of %s: %w", name, err)
	}
	_, fields := parseFormat(data)
	return fields, nil
}
