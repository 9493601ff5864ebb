// Package version is the one table of what differs between bpftrace
// releases, and the release number type it is keyed by.
//
// Each [Feature] is a fact from bpftrace's CHANGELOG, checked against its
// source at the release tags and, for 0.17, 0.23 and 0.27, against the real
// binaries: the release that brought it, the release that made it stable
// when it came in behind an "unstable" config flag, and the release that
// removed it. Language gates (validate, lang), argv choices (bpftrace), the
// host report (host), the helper list and the served reference (docs) all
// read this table, so that they cannot disagree.
//
// The package is a leaf: it imports only the standard library, so that lang,
// which must not import the engine adapter, and bpftrace, which runs the
// binary, can both depend on it. It holds no mutable state.
package version
