package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Limits of a message on stdio. The largest legitimate message is a
// program of a few KiB; HTTP caps a request body at 1 MiB too.
const (
	defaultMaxMessageBytes = 1 << 20
	// maxNesting is the deepest JSON accepted: MCP's messages nest a dozen
	// levels; a decoder recursing 10,000 deep is a denial of service.
	maxNesting = 64
	// idScanBytes is how much of a refused message is searched for its id.
	idScanBytes = 64 << 10
)

// guardedStdio is the stdio transport with a gate in front of the SDK's:
// the SDK ends the session (and the server) on the first message it
// cannot decode, so every line is checked here first. A line that is not
// one JSON-RPC 2.0 message of sane size and depth is answered with a
// JSON-RPC error when its id can be recovered, and otherwise dropped with
// a log line; either way the server goes on reading.
type guardedStdio struct {
	in  io.Reader
	out io.WriteCloser
	// maxBytes bounds one line; 0 means defaultMaxMessageBytes.
	maxBytes int
	log      *slog.Logger
}

func (t *guardedStdio) Connect(ctx context.Context) (mcp.Connection, error) {
	max := t.maxBytes
	if max <= 0 {
		max = defaultMaxMessageBytes
	}
	pr, pw := io.Pipe()
	// The SDK's own limit sits above ours, so it never trips.
	inner, err := (&mcp.IOTransport{Reader: pr, Writer: t.out, MaxLineLength: max + 1024}).Connect(ctx)
	if err != nil {
		return nil, err
	}
	go t.pump(inner, pw, max)
	return inner, nil
}

// pump copies the valid lines of t.in to w and answers the others on conn.
// It ends at the end of input, or when the connection is closed (w's
// reader is gone).
func (t *guardedStdio) pump(conn mcp.Connection, w *io.PipeWriter, max int) {
	br := bufio.NewReaderSize(t.in, 64<<10)
	for {
		line, size, err := readLine(br, max)
		if len(line) > 0 || size > 0 {
			if msg, ok := t.screen(conn, line, size, max); ok {
				if _, werr := w.Write(append(msg, '\n')); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.log.Warn("stdio: read", "err", err)
			}
			w.CloseWithError(err)
			return
		}
	}
}

// readLine returns the next line without its newline, at most max+1 bytes
// of it (enough to tell it is too long), and the line's full size; the
// rest of a longer line is read and discarded, so that memory stays
// bounded whatever comes in.
func readLine(br *bufio.Reader, max int) (line []byte, size int, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		size += len(chunk)
		if room := max + 1 - len(line); room > 0 {
			line = append(line, chunk[:min(len(chunk), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil {
			size-- // the newline
		}
		return bytes.TrimRight(line, "\r\n"), size, err
	}
}

// screen decides about one line: ok with the message to pass on, or not
// ok after answering (or logging) why it was refused.
func (t *guardedStdio) screen(conn mcp.Connection, line []byte, size, max int) ([]byte, bool) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		return nil, false // blank lines between messages are harmless
	}
	refuse := func(code int64, msg string) ([]byte, bool) {
		t.answer(conn, trimmed, code, msg)
		return nil, false
	}
	switch {
	case size > max:
		return refuse(jsonrpc.CodeInvalidRequest, fmt.Sprintf("message of %d bytes refused: the most this server reads is %d", size, max))
	case nesting(trimmed) > maxNesting:
		return refuse(jsonrpc.CodeInvalidRequest, fmt.Sprintf("message nested deeper than %d levels refused", maxNesting))
	case trimmed[0] == '[':
		return refuse(jsonrpc.CodeInvalidRequest, "JSON-RPC batches are not supported: send one message a line")
	case !json.Valid(trimmed):
		return refuse(jsonrpc.CodeParseError, "parse error: the line is not one JSON value")
	}
	if _, err := jsonrpc.DecodeMessage(trimmed); err != nil {
		return refuse(jsonrpc.CodeInvalidRequest, "invalid request: want a JSON-RPC 2.0 message (\"jsonrpc\": \"2.0\", a method or a result, a string or number id)")
	}
	return trimmed, true
}

// answer sends a JSON-RPC error for a refused message whose id can be
// recovered; one without an id (a notification, or garbage) gets no
// answer, as JSON-RPC has nowhere to send it, and is logged.
func (t *guardedStdio) answer(conn mcp.Connection, msg []byte, code int64, text string) {
	id, ok := recoverID(msg[:min(len(msg), idScanBytes)])
	if !ok {
		t.log.Warn("stdio: dropped a message without an id", "reason", text, "bytes", len(msg))
		return
	}
	t.log.Warn("stdio: refused a message", "reason", text, "bytes", len(msg))
	resp := &jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: code, Message: text}}
	if err := conn.Write(context.Background(), resp); err != nil {
		t.log.Warn("stdio: answer a refused message", "err", err)
	}
}

// nesting returns the deepest nesting of arrays and objects in a JSON
// text, outside strings; it stops counting once past maxNesting.
func nesting(b []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > maxNesting {
					return deepest
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// recoverID finds the id of a top-level JSON object from its first bytes,
// token by token, without decoding (or trusting) the rest: an id usually
// comes before the params, which is where an oversized or malformed
// message goes wrong.
func recoverID(b []byte) (jsonrpc.ID, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return jsonrpc.ID{}, false
	}
	depth := 1
	expectKey := true
	for {
		tok, err := dec.Token()
		if err != nil {
			return jsonrpc.ID{}, false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return jsonrpc.ID{}, false
				}
			}
			if depth == 1 {
				expectKey = true
			}
			continue
		}
		if depth != 1 {
			continue
		}
		if !expectKey {
			expectKey = true
			continue
		}
		expectKey = false
		if k, _ := tok.(string); k != "id" {
			continue
		}
		val, err := dec.Token()
		if err != nil {
			return jsonrpc.ID{}, false
		}
		var raw any
		switch v := val.(type) {
		case string:
			raw = v
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				return jsonrpc.ID{}, false // not an integer: not an id to echo
			}
			raw = float64(n)
		default:
			return jsonrpc.ID{}, false
		}
		id, err := jsonrpc.MakeID(raw)
		return id, err == nil && id.IsValid()
	}
}
