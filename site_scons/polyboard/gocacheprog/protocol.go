package main

// The cmd/go side of GOCACHEPROG (cmd/go/internal/cacheprog, Go 1.24+): JSON messages, one per
// line, on stdin and stdout. The helper first announces the commands it knows (ID 0); the go
// command then sends requests, possibly many at once, and matches the answers by ID, so each
// request is answered by its own goroutine. A "put" request with a body is followed by the
// body as one base64 JSON string on the next line.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

type request struct {
	ID       int64
	Command  string
	ActionID []byte `json:",omitempty"`
	OutputID []byte `json:",omitempty"`
	BodySize int64  `json:",omitempty"`
}

type response struct {
	ID            int64
	Err           string     `json:",omitempty"`
	KnownCommands []string   `json:",omitempty"`
	Miss          bool       `json:",omitempty"`
	OutputID      []byte     `json:",omitempty"`
	Size          int64      `json:",omitempty"`
	Time          *time.Time `json:",omitempty"`
	DiskPath      string     `json:",omitempty"`
}

// serve answers the go command's requests until "close" (or the end of its input), then
// waits for the uploads and returns.
func serve(in io.Reader, out io.Writer, c *cache) error {
	writer := bufio.NewWriter(out)
	encoder := json.NewEncoder(writer)
	var writeMu sync.Mutex
	send := func(r *response) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		if err := encoder.Encode(r); err != nil {
			return err
		}
		return writer.Flush()
	}
	if err := send(&response{KnownCommands: []string{"get", "put", "close"}}); err != nil {
		return err
	}
	decoder := json.NewDecoder(bufio.NewReaderSize(in, 1<<16))
	var pending sync.WaitGroup
	for {
		var req request
		if err := decoder.Decode(&req); err != nil {
			pending.Wait()
			c.finish()
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("reading a request: %w", err)
		}
		var body []byte
		if req.Command == "put" && req.BodySize > 0 {
			// encoding/json decodes a JSON string into []byte as base64.
			if err := decoder.Decode(&body); err != nil {
				return fmt.Errorf("reading the body of request %d: %w", req.ID, err)
			}
		}
		if req.Command == "close" {
			pending.Wait()
			c.finish()
			return send(&response{ID: req.ID})
		}
		pending.Add(1)
		go func(req request, body []byte) {
			defer pending.Done()
			send(answer(c, &req, body))
		}(req, body)
	}
}

func answer(c *cache, req *request, body []byte) *response {
	res := &response{ID: req.ID}
	switch req.Command {
	case "get":
		if len(req.ActionID) == 0 {
			res.Err = "get without an ActionID"
			return res
		}
		entry, ok := c.get(req.ActionID)
		if !ok {
			res.Miss = true
			return res
		}
		when := entry.time
		res.OutputID, res.Size, res.Time, res.DiskPath = entry.outputID[:], entry.size, &when, entry.path
	case "put":
		if len(req.ActionID) == 0 || len(req.OutputID) != 32 {
			res.Err = "put needs an ActionID and a 32-byte OutputID"
			return res
		}
		if int64(len(body)) != req.BodySize {
			res.Err = fmt.Sprintf("put body has %d bytes, BodySize says %d", len(body), req.BodySize)
			return res
		}
		var output [32]byte
		copy(output[:], req.OutputID)
		path, err := c.put(req.ActionID, output, body)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		res.DiskPath = path
	default:
		res.Err = fmt.Sprintf("unknown command %q", req.Command)
	}
	return res
}
