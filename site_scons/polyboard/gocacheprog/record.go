package main

// The /ac/ record: a build.bazel.remote.execution.v2.ActionResult in protobuf wire format,
// written by hand (two messages, four fields; no dependency), the same shape polyboard's SCons
// layer writes (site_scons/polyboard/remote_cache.py). bazel-remote's default validation of /ac/
// uploads accepts it, and a store stays readable by Bazel's own tools.

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// outputPath names the single output file of a Go cache record (informative only).
const outputPath = "go-cache-output"

// record is what an /ac/ entry says: the output's sha256 (Go's OutputID) and its size.
type record struct {
	OutputID [32]byte
	Size     int64
}

func appendVarint(out []byte, v uint64) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

func appendBytesField(out []byte, number int, payload []byte) []byte {
	out = appendVarint(out, uint64(number<<3|2))
	out = appendVarint(out, uint64(len(payload)))
	return append(out, payload...)
}

func appendIntField(out []byte, number int, value uint64) []byte {
	out = appendVarint(out, uint64(number<<3))
	return appendVarint(out, value)
}

// encodeRecord gives ActionResult{output_files (2): [OutputFile{path (1), digest (2):
// Digest{hash (1), size_bytes (2)}}]}.
func encodeRecord(r record) []byte {
	digest := appendBytesField(nil, 1, []byte(hex.EncodeToString(r.OutputID[:])))
	digest = appendIntField(digest, 2, uint64(r.Size))
	file := appendBytesField(nil, 1, []byte(outputPath))
	file = appendBytesField(file, 2, digest)
	return appendBytesField(nil, 2, file)
}

type field struct {
	number int
	bytes  []byte // wire type 2
	value  uint64 // wire type 0
	isLen  bool
}

func readVarint(data []byte, at *int) (uint64, error) {
	var value uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if *at >= len(data) {
			return 0, errors.New("truncated varint")
		}
		b := data[*at]
		*at++
		value |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return value, nil
		}
	}
	return 0, errors.New("varint too long")
}

// fields splits one message into its fields; an error for anything malformed.
func fields(data []byte) ([]field, error) {
	var out []field
	at := 0
	for at < len(data) {
		key, err := readVarint(data, &at)
		if err != nil {
			return nil, err
		}
		number, wire := int(key>>3), key&7
		switch wire {
		case 0:
			v, err := readVarint(data, &at)
			if err != nil {
				return nil, err
			}
			out = append(out, field{number: number, value: v})
		case 2:
			size, err := readVarint(data, &at)
			if err != nil {
				return nil, err
			}
			if size > uint64(len(data)-at) {
				return nil, errors.New("truncated field")
			}
			out = append(out, field{number: number, bytes: data[at : at+int(size)], isLen: true})
			at += int(size)
		case 1:
			at += 8
		case 5:
			at += 4
		default:
			return nil, fmt.Errorf("unsupported wire type %d", wire)
		}
		if at > len(data) {
			return nil, errors.New("truncated fixed field")
		}
	}
	return out, nil
}

// decodeRecord reads a record written by encodeRecord (or by any client writing one output
// file); an error for anything else: such an entry is a miss, never a build failure.
func decodeRecord(data []byte) (record, error) {
	top, err := fields(data)
	if err != nil {
		return record{}, err
	}
	var files [][]byte
	for _, f := range top {
		if f.number == 2 && f.isLen {
			files = append(files, f.bytes)
		}
	}
	if len(files) != 1 {
		return record{}, fmt.Errorf("%d output files in the record, expected 1", len(files))
	}
	file, err := fields(files[0])
	if err != nil {
		return record{}, err
	}
	var r record
	var hash string
	size := int64(-1)
	for _, f := range file {
		if f.number != 2 || !f.isLen {
			continue
		}
		digest, err := fields(f.bytes)
		if err != nil {
			return record{}, err
		}
		for _, d := range digest {
			switch {
			case d.number == 1 && d.isLen:
				hash = string(d.bytes)
			case d.number == 2 && !d.isLen:
				size = int64(d.value)
			}
		}
	}
	raw, err := hex.DecodeString(hash)
	if err != nil || len(raw) != 32 || size < 0 {
		return record{}, errors.New("no sha256 digest in the record")
	}
	copy(r.OutputID[:], raw)
	r.Size = size
	return r, nil
}
