package main

// The cache behind the protocol: a local folder first (DiskPath must name a local file), then
// the remote store over Bazel's HTTP cache layout. Best effort, as polyboard's other layers:
// an unreachable or failing server, an unreadable record, a blob whose sha256 does not match
// are all misses, counted; the go command never sees an error from the store.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// keySalt makes the Go layer's /ac/ keys its own: an action ID is sha256 already, but another
// client's key of the same bytes must never name a Go output.
const keySalt = "polyboard-go-cacheprog-v1\x00"

const (
	connectTimeout = 2 * time.Second  // a server that does not answer costs this once per go command
	requestTimeout = 60 * time.Second // a whole request, body included: a stalled server is bounded
	maxUploads     = 4                // uploads in flight at once
	userAgent      = "polyboard-gocacheprog/1"
)

// stats are what the helper writes to its stats file on close: polyboard adds up the lines of
// every go command of a build and reports them.
type stats struct {
	Gets      int64    `json:"gets"`
	LocalHits int64    `json:"local_hits"`
	Hits      int64    `json:"hits"` // from the remote store
	Misses    int64    `json:"misses"`
	Errors    int64    `json:"errors"`
	Puts      int64    `json:"puts"`
	Uploads   int64    `json:"uploads"`
	BytesDown int64    `json:"bytes_down"`
	BytesUp   int64    `json:"bytes_up"`
	Warnings  []string `json:"warnings,omitempty"` // one per kind of trouble
}

type entry struct {
	outputID [32]byte
	size     int64
	time     time.Time
	path     string
}

type cache struct {
	dir       string
	remote    string // base URL ending in "/", or "" for a local cache only
	upload    bool
	statsFile string
	client    *http.Client

	mu        sync.Mutex
	stats     stats
	warned    map[string]bool
	down      bool // the circuit breaker: no more requests after a connection failure
	refused   bool // a PUT was refused: no more uploads
	uploads   sync.WaitGroup
	uploadSem chan struct{}
}

func newCache(dir, remote string, upload bool, statsFile string) (*cache, error) {
	for _, sub := range []string{"a", "o"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o777); err != nil {
			return nil, err
		}
	}
	if remote != "" && !strings.HasSuffix(remote, "/") {
		remote += "/"
	}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: connectTimeout}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   maxUploads + 4,
	}
	return &cache{
		dir: dir, remote: remote, upload: upload, statsFile: statsFile,
		client: &http.Client{Transport: transport, Timeout: requestTimeout},
		warned: map[string]bool{}, uploadSem: make(chan struct{}, maxUploads),
	}, nil
}

// remoteKey is the /ac/ key of a Go action ID: 64 hex digits, as the protocol wants.
func remoteKey(actionID []byte) string {
	sum := sha256.Sum256(append([]byte(keySalt), actionID...))
	return hex.EncodeToString(sum[:])
}

func (c *cache) count(f func(s *stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// problem counts an error and notes one warning per kind of trouble.
func (c *cache) problem(kind, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Errors++
	if !c.warned[kind] {
		c.warned[kind] = true
		c.stats.Warnings = append(c.stats.Warnings, text)
	}
}

// --- the local folder: a/<action hex> holds "<output hex> <size> <unix nanoseconds>", o/<output hex> the bytes

func (c *cache) actionFile(actionID []byte) string {
	return filepath.Join(c.dir, "a", hex.EncodeToString(actionID))
}

func (c *cache) outputFile(outputID [32]byte) string {
	return filepath.Join(c.dir, "o", hex.EncodeToString(outputID[:]))
}

func (c *cache) getLocal(actionID []byte) (entry, bool) {
	data, err := os.ReadFile(c.actionFile(actionID))
	if err != nil {
		return entry{}, false
	}
	parts := strings.Fields(string(data))
	if len(parts) != 3 {
		return entry{}, false
	}
	raw, err := hex.DecodeString(parts[0])
	size, err2 := strconv.ParseInt(parts[1], 10, 64)
	nanos, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || err2 != nil || err3 != nil || len(raw) != 32 {
		return entry{}, false
	}
	var e entry
	copy(e.outputID[:], raw)
	e.size, e.time, e.path = size, time.Unix(0, nanos), c.outputFile(e.outputID)
	if info, err := os.Stat(e.path); err != nil || info.Size() != size {
		return entry{}, false // the output was removed or cut short: a miss
	}
	return e, true
}

// writeFile writes whole or not at all (another go command may read the folder meanwhile).
func writeFile(path string, data []byte) error {
	temporary, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	_, err = temporary.Write(data)
	if closeErr := temporary.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(temporary.Name(), path)
	}
	if err != nil {
		os.Remove(temporary.Name())
	}
	return err
}

func (c *cache) putLocal(actionID []byte, outputID [32]byte, body []byte) (entry, error) {
	e := entry{outputID: outputID, size: int64(len(body)), time: time.Now(), path: c.outputFile(outputID)}
	if info, err := os.Stat(e.path); err != nil || info.Size() != e.size {
		if err := writeFile(e.path, body); err != nil {
			return entry{}, err
		}
	}
	line := fmt.Sprintf("%x %d %d\n", outputID, e.size, e.time.UnixNano())
	if err := writeFile(c.actionFile(actionID), []byte(line)); err != nil {
		return entry{}, err
	}
	return e, nil
}

// --- the protocol's two operations

func (c *cache) get(actionID []byte) (entry, bool) {
	c.count(func(s *stats) { s.Gets++ })
	if e, ok := c.getLocal(actionID); ok {
		c.count(func(s *stats) { s.LocalHits++ })
		return e, true
	}
	if e, ok := c.getRemote(actionID); ok {
		c.count(func(s *stats) { s.Hits++ })
		return e, true
	}
	c.count(func(s *stats) { s.Misses++ })
	return entry{}, false
}

func (c *cache) put(actionID []byte, outputID [32]byte, body []byte) (string, error) {
	if sha256.Sum256(body) != outputID {
		return "", errors.New("the body's sha256 is not its OutputID")
	}
	c.count(func(s *stats) { s.Puts++ })
	e, err := c.putLocal(actionID, outputID, body)
	if err != nil {
		return "", err
	}
	if c.remote != "" && c.upload {
		c.uploads.Add(1)
		go func() {
			defer c.uploads.Done()
			c.uploadSem <- struct{}{}
			defer func() { <-c.uploadSem }()
			c.putRemote(actionID, outputID, body)
		}()
	}
	return e.path, nil
}

// finish waits for the uploads and appends this go command's counts to the stats file (one
// JSON line, one write: go commands running side by side append to the same file).
func (c *cache) finish() {
	c.uploads.Wait()
	if c.statsFile == "" {
		return
	}
	c.mu.Lock()
	line, _ := json.Marshal(c.stats)
	c.mu.Unlock()
	stream, err := os.OpenFile(c.statsFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return
	}
	stream.Write(append(line, '\n'))
	stream.Close()
}

// --- the remote store

// errDown: the server could not be reached; the breaker is open.
var errDown = errors.New("remote cache unavailable")

func (c *cache) request(method, path string, body []byte) (int, []byte, error) {
	c.mu.Lock()
	down := c.down
	c.mu.Unlock()
	if down {
		return 0, nil, errDown
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.remote+path, reader)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	res, err := c.client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err != nil {
		c.mu.Lock()
		first := !c.down
		c.down = true
		c.mu.Unlock()
		if first {
			c.problem("down", fmt.Sprintf("%s: %s; go built without it", c.remote, reason(err)))
		}
		return 0, nil, errDown
	}
	return res.StatusCode, data, nil
}

func reason(err error) string {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer (timed out)"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	return "cannot connect (" + err.Error() + ")"
}

// fetch GETs one object: false for a miss (404), a dead server or an HTTP error (counted).
func (c *cache) fetch(path string) ([]byte, bool) {
	status, data, err := c.request("GET", path, nil)
	if err != nil || status == http.StatusNotFound {
		return nil, false
	}
	if status != http.StatusOK {
		kind := path[:strings.Index(path, "/")]
		c.problem("http", fmt.Sprintf("%s: GET /%s/ answered HTTP %d; those packages were built locally", c.remote, kind, status))
		return nil, false
	}
	c.count(func(s *stats) { s.BytesDown += int64(len(data)) })
	return data, true
}

func (c *cache) getRemote(actionID []byte) (entry, bool) {
	if c.remote == "" {
		return entry{}, false
	}
	data, ok := c.fetch("ac/" + remoteKey(actionID))
	if !ok {
		return entry{}, false
	}
	rec, err := decodeRecord(data)
	if err != nil {
		c.problem("record", fmt.Sprintf("%s: an unreadable /ac/ record (%v); ignored", c.remote, err))
		return entry{}, false
	}
	var content []byte
	if info, statErr := os.Stat(c.outputFile(rec.OutputID)); statErr == nil && info.Size() == rec.Size {
		content, _ = os.ReadFile(c.outputFile(rec.OutputID)) // another action made the same bytes here
	}
	if content == nil || sha256.Sum256(content) != rec.OutputID {
		if content, ok = c.fetch("cas/" + hex.EncodeToString(rec.OutputID[:])); !ok {
			return entry{}, false
		}
		if int64(len(content)) != rec.Size || sha256.Sum256(content) != rec.OutputID {
			c.problem("corrupt", fmt.Sprintf("%s: a blob whose content does not match its sha256 (%x...); ignored", c.remote, rec.OutputID[:6]))
			return entry{}, false
		}
	}
	e, err := c.putLocal(actionID, rec.OutputID, content)
	if err != nil {
		c.problem("write", fmt.Sprintf("cannot write the local cache folder %s (%v)", c.dir, err))
		return entry{}, false
	}
	return e, true
}

// putRemote uploads the bytes (unless the server has them), then the record: last, so a
// reader never finds a record without its blob.
func (c *cache) putRemote(actionID []byte, outputID [32]byte, body []byte) {
	c.mu.Lock()
	refused := c.refused
	c.mu.Unlock()
	if refused {
		return
	}
	blob := "cas/" + hex.EncodeToString(outputID[:])
	status, _, err := c.request("HEAD", blob, nil)
	if err != nil {
		return
	}
	if status != http.StatusOK && !c.putOne(blob, body) {
		return
	}
	if c.putOne("ac/"+remoteKey(actionID), encodeRecord(record{OutputID: outputID, Size: int64(len(body))})) {
		c.count(func(s *stats) { s.Uploads++ })
	}
}

func (c *cache) putOne(path string, body []byte) bool {
	status, _, err := c.request("PUT", path, body)
	if err != nil {
		return false
	}
	if status == http.StatusOK || status == http.StatusCreated || status == http.StatusNoContent {
		c.count(func(s *stats) { s.BytesUp += int64(len(body)) })
		return true
	}
	c.mu.Lock()
	first := !c.refused
	c.refused = true // a server that refuses once (403, a full disk) refuses again
	c.mu.Unlock()
	if first {
		c.problem("put", fmt.Sprintf("%s: PUT answered HTTP %d; not uploading for the rest of this go command", c.remote, status))
	}
	return false
}
