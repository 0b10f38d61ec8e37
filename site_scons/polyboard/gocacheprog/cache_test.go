package main

// Unit tests of the helper: the protocol as cmd/go speaks it (through pipes), the local folder,
// and the remote store against an in-memory server of Bazel's HTTP cache layout (httptest).
// The real go command against a real nginx is tests/test_go_remote_cache.py.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// store is an in-memory Bazel HTTP cache that records every request.
type store struct {
	mu       sync.Mutex
	objects  map[string][]byte
	requests []string
	putCode  int // answer to PUT (0: 201)
	getCode  int // answer to GET (0: the object or 404)
}

func newStore() *store { return &store{objects: map[string][]byte{}} }

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	switch r.Method {
	case "PUT":
		if s.putCode != 0 {
			w.WriteHeader(s.putCode)
			return
		}
		body, _ := io.ReadAll(r.Body)
		s.objects[r.URL.Path] = body
		w.WriteHeader(http.StatusCreated)
	case "GET", "HEAD":
		if s.getCode != 0 {
			w.WriteHeader(s.getCode)
			return
		}
		body, ok := s.objects[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write(body)
	}
}

func (s *store) methods() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[string]int{}
	for _, r := range s.requests {
		counts[strings.Fields(r)[0]]++
	}
	return counts
}

// session runs serve() as a go command would: requests in, responses out.
type session struct {
	t       *testing.T
	in      *io.PipeWriter
	out     *json.Decoder
	done    chan error
	nextID  int64
	known   []string
	pending map[int64]*response
}

func start(t *testing.T, c *cache) *session {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{t: t, in: inW, out: json.NewDecoder(bufio.NewReader(outR)), done: make(chan error, 1),
		pending: map[int64]*response{}}
	go func() { s.done <- serve(inR, outW, c); outW.Close() }()
	var hello response
	if err := s.out.Decode(&hello); err != nil || hello.ID != 0 {
		t.Fatalf("no handshake: %v %+v", err, hello)
	}
	s.known = hello.KnownCommands
	return s
}

func (s *session) call(req request, body []byte) *response {
	s.nextID++
	req.ID = s.nextID
	line, _ := json.Marshal(req)
	s.in.Write(append(line, '\n'))
	if len(body) > 0 { // as cmd/go: no body line when BodySize is 0
		fmt.Fprintf(s.in, "%q\n", base64.StdEncoding.EncodeToString(body))
	}
	var res response
	if err := s.out.Decode(&res); err != nil {
		s.t.Fatalf("no response to %d: %v", req.ID, err)
	}
	if res.ID != req.ID {
		s.t.Fatalf("response %d to request %d", res.ID, req.ID)
	}
	return &res
}

func (s *session) put(action string, body []byte) *response {
	output := sha256.Sum256(body)
	return s.call(request{Command: "put", ActionID: actionID(action), OutputID: output[:], BodySize: int64(len(body))}, body)
}

func (s *session) get(action string) *response {
	return s.call(request{Command: "get", ActionID: actionID(action)}, nil)
}

func (s *session) close() {
	if res := s.call(request{Command: "close"}, nil); res.Err != "" {
		s.t.Fatalf("close: %s", res.Err)
	}
	if err := <-s.done; err != nil {
		s.t.Fatal(err)
	}
}

func actionID(name string) []byte {
	sum := sha256.Sum256([]byte(name))
	return sum[:]
}

func mustCache(t *testing.T, remote string, upload bool) (*cache, string) {
	dir := t.TempDir()
	stats := filepath.Join(dir, "stats.jsonl")
	c, err := newCache(filepath.Join(dir, "local"), remote, upload, stats)
	if err != nil {
		t.Fatal(err)
	}
	return c, stats
}

func readStats(t *testing.T, path string) []stats {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []stats
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var s stats
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("bad stats line %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

func TestHandshakeAnnouncesGetPutClose(t *testing.T) {
	c, _ := mustCache(t, "", true)
	s := start(t, c)
	if strings.Join(s.known, ",") != "get,put,close" {
		t.Fatalf("KnownCommands = %v", s.known)
	}
	s.close()
}

func TestPutThenGetFromTheLocalFolder(t *testing.T) {
	c, statsFile := mustCache(t, "", true)
	s := start(t, c)
	if res := s.get("compile fmt"); !res.Miss || res.Err != "" {
		t.Fatalf("empty cache: %+v", res)
	}
	body := []byte("the archive of fmt")
	put := s.put("compile fmt", body)
	if put.Err != "" || put.DiskPath == "" {
		t.Fatalf("put: %+v", put)
	}
	got := s.get("compile fmt")
	want := sha256.Sum256(body)
	if got.Miss || !bytes.Equal(got.OutputID, want[:]) || got.Size != int64(len(body)) || got.Time == nil {
		t.Fatalf("get: %+v", got)
	}
	if data, _ := os.ReadFile(got.DiskPath); !bytes.Equal(data, body) {
		t.Fatalf("DiskPath %s holds %q", got.DiskPath, data)
	}
	// An empty output (BodySize 0: no body line follows) is an output too.
	if res := s.put("empty", []byte{}); res.Err != "" || res.DiskPath == "" {
		t.Fatalf("empty put: %+v", res)
	}
	if res := s.get("empty"); res.Miss || res.Size != 0 {
		t.Fatalf("empty get: %+v", res)
	}
	s.close()
	st := readStats(t, statsFile)[0]
	if st.Gets != 3 || st.LocalHits != 2 || st.Misses != 1 || st.Puts != 2 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAPutWhoseBodyIsNotItsOutputIDIsRefused(t *testing.T) {
	c, _ := mustCache(t, "", true)
	s := start(t, c)
	wrong := sha256.Sum256([]byte("other"))
	res := s.call(request{Command: "put", ActionID: actionID("x"), OutputID: wrong[:], BodySize: 3}, []byte("abc"))
	if res.Err == "" {
		t.Fatalf("accepted: %+v", res)
	}
	s.close()
}

func TestAFreshRunnerGetsWhatAnotherUploaded(t *testing.T) {
	server := newStore()
	http := httptest.NewServer(server)
	defer http.Close()
	a, _ := mustCache(t, http.URL+"/prefix", true)
	sa := start(t, a)
	body := bytes.Repeat([]byte("compiled "), 1000)
	sa.get("compile fmt")
	sa.put("compile fmt", body)
	sa.close() // waits for the uploads
	output := sha256.Sum256(body)
	if got := server.objects["/prefix/cas/"+hex.EncodeToString(output[:])]; !bytes.Equal(got, body) {
		t.Fatalf("no blob uploaded: %v", server.requests)
	}
	rec, err := decodeRecord(server.objects["/prefix/ac/"+remoteKey(actionID("compile fmt"))])
	if err != nil || rec.OutputID != output || rec.Size != int64(len(body)) {
		t.Fatalf("record %+v %v", rec, err)
	}

	b, statsFile := mustCache(t, http.URL+"/prefix/", true)
	sb := start(t, b)
	got := sb.get("compile fmt")
	if got.Miss || !bytes.Equal(got.OutputID, output[:]) {
		t.Fatalf("get: %+v", got)
	}
	if data, _ := os.ReadFile(got.DiskPath); !bytes.Equal(data, body) {
		t.Fatal("DiskPath does not hold the uploaded bytes")
	}
	if res := sb.get("compile fmt"); res.Miss { // now from the local folder
		t.Fatal("second get missed")
	}
	sb.get("compile os")
	sb.close()
	st := readStats(t, statsFile)[0]
	if st.Hits != 1 || st.LocalHits != 1 || st.Misses != 1 || st.Errors != 0 || st.BytesDown < int64(len(body)) {
		t.Fatalf("stats %+v", st)
	}
}

func TestACorruptOrTruncatedBlobIsAMiss(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"corrupt":   func(b []byte) []byte { c := append([]byte{}, b...); c[0] ^= 1; return c },
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			server := newStore()
			ts := httptest.NewServer(server)
			defer ts.Close()
			body := []byte("the archive of os, some bytes")
			output := sha256.Sum256(body)
			server.objects["/ac/"+remoteKey(actionID("compile os"))] = encodeRecord(record{output, int64(len(body))})
			server.objects["/cas/"+hex.EncodeToString(output[:])] = damage(body)
			c, statsFile := mustCache(t, ts.URL, true)
			s := start(t, c)
			if res := s.get("compile os"); !res.Miss {
				t.Fatalf("a damaged blob was served: %+v", res)
			}
			s.close()
			st := readStats(t, statsFile)[0]
			if st.Errors != 1 || st.Misses != 1 || st.Hits != 0 || len(st.Warnings) != 1 ||
				!strings.Contains(st.Warnings[0], "does not match its sha256") {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestAGarbageRecordIsAMiss(t *testing.T) {
	server := newStore()
	ts := httptest.NewServer(server)
	defer ts.Close()
	server.objects["/ac/"+remoteKey(actionID("a"))] = []byte("<html>not a record</html>")
	c, statsFile := mustCache(t, ts.URL, true)
	s := start(t, c)
	if res := s.get("a"); !res.Miss {
		t.Fatalf("%+v", res)
	}
	s.close()
	if st := readStats(t, statsFile)[0]; st.Errors != 1 || st.Misses != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAReadOnlyRunnerNeverUploads(t *testing.T) {
	server := newStore()
	ts := httptest.NewServer(server)
	defer ts.Close()
	c, statsFile := mustCache(t, ts.URL, false)
	s := start(t, c)
	s.get("compile fmt")
	if res := s.put("compile fmt", []byte("bytes")); res.Err != "" || res.DiskPath == "" {
		t.Fatalf("put: %+v", res)
	}
	s.close()
	if m := server.methods(); m["PUT"] != 0 || m["HEAD"] != 0 || m["GET"] != 1 {
		t.Fatalf("requests %v", server.requests)
	}
	if st := readStats(t, statsFile)[0]; st.Uploads != 0 || st.BytesUp != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAServerRefusingUploadsIsAskedOnceAndTheBuildGoesOn(t *testing.T) {
	for _, code := range []int{403, 500} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			server := newStore()
			server.putCode = code
			ts := httptest.NewServer(server)
			defer ts.Close()
			c, statsFile := mustCache(t, ts.URL, true)
			s := start(t, c)
			for i := 0; i < 5; i++ {
				if res := s.put(fmt.Sprint("action ", i), []byte(fmt.Sprint("output ", i))); res.Err != "" {
					t.Fatalf("put failed the build: %+v", res)
				}
			}
			s.close()
			if puts := server.methods()["PUT"]; puts < 1 || puts > maxUploads {
				t.Fatalf("%d PUTs after a refusal: %v", puts, server.requests)
			}
			st := readStats(t, statsFile)[0]
			if st.Errors != 1 || st.Uploads != 0 || !strings.Contains(st.Warnings[0], fmt.Sprintf("PUT answered HTTP %d", code)) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestAServerFailingGetIsAMiss(t *testing.T) {
	server := newStore()
	server.getCode = 500
	ts := httptest.NewServer(server)
	defer ts.Close()
	c, statsFile := mustCache(t, ts.URL, true)
	s := start(t, c)
	if res := s.get("a"); !res.Miss || res.Err != "" {
		t.Fatalf("%+v", res)
	}
	s.close()
	if st := readStats(t, statsFile)[0]; st.Errors != 1 || st.Misses != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestADeadServerCostsOneErrorAndNoMoreRequests(t *testing.T) {
	ts := httptest.NewServer(newStore())
	url := ts.URL
	ts.Close() // nothing listens there any more
	c, statsFile := mustCache(t, url, true)
	s := start(t, c)
	for i := 0; i < 5; i++ {
		if res := s.get(fmt.Sprint("action ", i)); !res.Miss || res.Err != "" {
			t.Fatalf("%+v", res)
		}
		if res := s.put(fmt.Sprint("action ", i), []byte("x")); res.Err != "" {
			t.Fatalf("%+v", res)
		}
	}
	s.close()
	st := readStats(t, statsFile)[0]
	if st.Errors != 1 || st.Misses != 5 || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "connection refused") {
		t.Fatalf("stats %+v", st)
	}
}

func TestTheRecordIsAnActionResult(t *testing.T) {
	// The same bytes as tests/test_remote_cache.py's record test writes for path "go-cache-output".
	var output [32]byte
	for i := range output {
		output[i] = 0xab
	}
	data := encodeRecord(record{output, 9_876_543_210})
	digest := append(append([]byte{0x0a, 0x40}, []byte(strings.Repeat("ab", 32))...), 0x10)
	digest = appendVarint(digest, 9_876_543_210)
	file := append([]byte{0x0a, byte(len(outputPath))}, outputPath...)
	file = append(append(file, 0x12, byte(len(digest))), digest...)
	want := append([]byte{0x12, byte(len(file))}, file...)
	if !bytes.Equal(data, want) {
		t.Fatalf("\n got %x\nwant %x", data, want)
	}
	back, err := decodeRecord(data)
	if err != nil || back.OutputID != output || back.Size != 9_876_543_210 {
		t.Fatalf("%+v %v", back, err)
	}
	for _, garbage := range [][]byte{nil, []byte("<html>"), data[:len(data)-3], append(data, data...)} {
		if _, err := decodeRecord(garbage); err == nil {
			t.Errorf("accepted %x", garbage)
		}
	}
}

func TestTheKeyIsSaltedAndHex(t *testing.T) {
	key := remoteKey(actionID("a"))
	if len(key) != 64 || key == hex.EncodeToString(actionID("a")) || key != remoteKey(actionID("a")) {
		t.Fatal(key)
	}
}
