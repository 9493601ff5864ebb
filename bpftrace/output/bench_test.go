package output

import "testing"

// BenchmarkDecodePrintf measures the path every printf line takes; the
// server must keep up with about 100k of them a second on a loaded 2-core
// machine.
func BenchmarkDecodePrintf(b *testing.B) {
	for _, bm := range []struct {
		name, line string
	}{
		{"plain", `{"type": "printf", "data": "pid 1234 comm bash opened /etc/ld.so.cache"}`},
		{"newline", `{"type": "printf", "data": "pid 1234 comm bash opened /etc/ld.so.cache\n"}`},
		{"utf-8", `{"type": "printf", "data": "pid 1234 comm bash opened /home/j\uffffffc3\uffffffa9r\uffffffc3\uffffffb4me/f\n"}`},
	} {
		b.Run(bm.name, func(b *testing.B) {
			line := []byte(bm.line)
			var d Decoder
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeMap measures a keyed map record, which is rare by
// comparison (print() and the exit-time dump).
func BenchmarkDecodeMap(b *testing.B) {
	line := []byte(`{"type": "map", "data": {"@c": {"bash,1234": 10, "sshd,77": 3, "systemd,1": 1, "cron,900": 7}}}`)
	var d Decoder
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}
