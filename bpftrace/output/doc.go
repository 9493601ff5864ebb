// Package output decodes the line-oriented JSON that bpftrace 0.17 writes with
// `-f json` and renders every record exactly as bpftrace's text mode would
// have printed it.
//
// Running bpftrace with `-f json` gives typed maps and histograms, but people
// read the text form. [Decoder] turns each line into an [Event] carrying both:
// the typed payload ([Map], [HelperError], …) and [Event.Text], the bytes text
// mode prints for that record. Concatenating the Text of every event of a run
// reproduces text-mode stdout byte for byte, minus the "Attaching N probes..."
// line.
//
// bpftrace 0.17's JSON is not always JSON, and some of what text mode prints
// cannot be recovered from it. The decoder handles these cases:
//
//   - Bytes >= 0x80 are escaped as \uffffffXX (json_escape compares a signed
//     char). The decoder restores the raw byte, so UTF-8 text survives.
//   - strerror() and strftime() values in maps are written unquoted. The
//     decoder keeps them as strings.
//   - Multi-part map keys are joined with "," into one string. Without
//     the map's [MapSchema] a key part that itself contains a comma is split.
//   - hist() and lhist() both come as type "hist". The kind is inferred from
//     the bucket bounds unless the [MapSchema] says.
//   - hist()'s last bucket, [2G, 4G), comes with the bounds
//     {"min": -2147483648, "max": 0} (a 32-bit shift); the decoder corrects it.
//   - Empty maps print a blank line in text mode and nothing in JSON. Only
//     [Decoder.Schema] lets the decoder put those lines back, and only in the
//     exit-time dump; print() of an empty map inside the program is lost.
//   - Arrays and tuples are both JSON arrays; kstack, ustack, ksym, usym and
//     inet values are JSON strings although text mode prints their entries
//     without newlines between them. The [MapSchema] says which.
//   - print(@h, top, div) divides the counts in JSON, but text mode draws
//     the bars from the undivided counts, which JSON does not carry.
//
// Later releases (recorded from 0.23.2 and 0.27.1 under testdata/recorded)
// change the JSON, and [Decoder.Release] names the one that wrote it:
//
//   - 0.23 escapes map keys twice; the decoder undoes the second escaping.
//   - 0.24 and later add records (tseries, errorf, warnf, runtime_error,
//     null values) and no longer print the blank lines that begin the
//     exit-time dump.
//   - 0.27 writes a struct value as {"a": 1}, like a keyed map's entries
//     (a map the [Schema] knows without a key holds a struct), and buf()
//     values as arrays of bytes, which [ValueBuf] renders.
//
// Text stays 0.17's layout whatever the release: 0.23 and later print the
// same content with other spacing, and 0.27 puts stats() in braces, a width-
// one lhist bucket as [N], and orders the entries of a map neither by value
// nor the same way from one run to the next (recorded: keys with a string
// part); the decoder keeps the order of the JSON.
//
// Beyond what text mode shows, a decoded [Map] is typed for a reader that
// is a program or a model: key parts that are numbers are numbers, stack
// keys are [Stack]s (lists of frames), raw_syscalls ids are [Syscall]s named for this host's
// architecture, each map has a [Summary] (keys, sum, min, max) and each
// histogram a [HistSummary] (count, p50/p90/p99, range). [Map.Ranked] orders
// entries most significant first. None of this changes [Map.Text].
//
// The package does no I/O and imports only the standard library and the
// version facts (bpftrace/version).
package output
