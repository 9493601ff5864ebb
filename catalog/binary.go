package catalog

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// maxBinaries bounds the per-binary cache; each entry holds a few thousand
// names at most (libc: ~7,000).
const maxBinaries = 64

// binaryCache keeps the symbols and USDT probes of binaries, keyed by path
// and invalidated when the file's size or modification time changes.
type binaryCache struct {
	mu      sync.Mutex
	entries map[string]*binaryEntry
	clock   uint64
}

type binaryEntry struct {
	size    int64
	mtime   time.Time
	lastUse uint64
	funcs   lazy[[]string]
	usdt    lazy[[]usdtProbe]

	// full caches "uprobe:<path>:<func>" per prefix, parallel to funcs, so
	// that listing a binary's thousands of functions allocates nothing.
	mu   sync.Mutex
	full map[string][]string
}

// fullNames returns prefix+f for every f in funcs, built once per prefix.
func (e *binaryEntry) fullNames(prefix string, funcs []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if names, ok := e.full[prefix]; ok {
		return names
	}
	names := make([]string, len(funcs))
	for i, f := range funcs {
		names[i] = prefix + f
	}
	if e.full == nil {
		e.full = map[string][]string{}
	}
	e.full[prefix] = names
	return names
}

func (b *binaryCache) entry(path string) (*binaryEntry, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, notFound(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: %w", path, ErrNotFound)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.entries == nil {
		b.entries = make(map[string]*binaryEntry)
	}
	b.clock++
	e, ok := b.entries[path]
	if !ok || e.size != st.Size() || !e.mtime.Equal(st.ModTime()) {
		if !ok && len(b.entries) >= maxBinaries {
			b.evictOldest()
		}
		e = &binaryEntry{size: st.Size(), mtime: st.ModTime()}
		b.entries[path] = e
	}
	e.lastUse = b.clock
	return e, nil
}

func (b *binaryCache) evictOldest() {
	var oldest string
	var min uint64
	for p, e := range b.entries {
		if oldest == "" || e.lastUse < min {
			oldest, min = p, e.lastUse
		}
	}
	delete(b.entries, oldest)
}

// funcs returns the sorted function symbols of the binary at path and the
// same names prefixed with "<prov>:<path>:".
func (c *Catalog) funcs(prov, path string) (syms, full []string, err error) {
	e, err := c.bins.entry(path)
	if err != nil {
		return nil, nil, err
	}
	syms, err = e.funcs.get(func() ([]string, error) { return funcSymbols(path, c.debugDir()) })
	if err != nil {
		return nil, nil, err
	}
	return syms, e.fullNames(prov+":"+path+":", syms), nil
}

// usdt returns the USDT probes of the binary at path.
func (c *Catalog) usdt(path string) ([]usdtProbe, error) {
	e, err := c.bins.entry(path)
	if err != nil {
		return nil, err
	}
	return e.usdt.get(func() ([]usdtProbe, error) { return usdtProbes(path) })
}

func (c *Catalog) debugDir() string {
	if c.opts.DebugDir != "" {
		return c.opts.DebugDir
	}
	return "/usr/lib/debug"
}
