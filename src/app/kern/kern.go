// Package kern wraps the polyboard Rust kernel (libkernel.a, C ABI) for Go.
//
// The build (go_program/go_test with libs=[kernel]) gives cgo the kernel's include folder and
// -L<dir of libkernel.a> -lkernel through CGO_CFLAGS and CGO_LDFLAGS: no #cgo lines needed.
package kern

/*
#include "kernel.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// ABIVersionHeader is KERN_ABI_VERSION from kernel.h.
const ABIVersionHeader uint32 = C.KERN_ABI_VERSION

// KernStats mirrors struct kern_stats (a type cannot share the name of the
// Stats function in Go).
type KernStats struct {
	Count uint32
	Min   uint32
	Max   uint32
	Mean  float32
}

// CStats is the C struct itself, exposed so tests can check its layout.
type CStats = C.struct_kern_stats

// ErrInvalid is returned by Stats for an empty sample set.
var ErrInvalid = errors.New("kern: invalid argument (empty samples)")

// CRC32 returns the IEEE CRC-32 of b, computed by the Rust kernel.
func CRC32(b []byte) uint32 {
	var p *C.uint8_t
	if len(b) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	t := traceStart()
	crc := uint32(C.kern_crc32(p, C.size_t(len(b))))
	traceEnd(fnCRC32, t)
	return crc
}

// Stats returns count/min/max/mean of samples, computed by the Rust kernel.
func Stats(samples []uint32) (KernStats, error) {
	if len(samples) == 0 {
		return KernStats{}, ErrInvalid
	}
	var out C.struct_kern_stats
	t := traceStart()
	rc := C.kern_stats_compute((*C.uint32_t)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)), &out)
	traceEnd(fnStatsCompute, t)
	if rc != 0 {
		return KernStats{}, ErrInvalid
	}
	return KernStats{
		Count: uint32(out.count),
		Min:   uint32(out.min),
		Max:   uint32(out.max),
		Mean:  float32(out.mean),
	}, nil
}

// statsRaw calls kern_stats_compute with possibly-NULL pointers (tests only).
func statsRaw(samples []uint32, n int, withOut bool) int32 {
	var p *C.uint32_t
	if len(samples) > 0 {
		p = (*C.uint32_t)(unsafe.Pointer(&samples[0]))
	}
	var out C.struct_kern_stats
	po := &out
	if !withOut {
		po = nil
	}
	return int32(C.kern_stats_compute(p, C.size_t(n), po))
}

// Scale returns v*f, computed by the Rust kernel (floats in registers).
func Scale(v, f float32) float32 {
	t := traceStart()
	scaled := float32(C.kern_scale(C.float(v), C.float(f)))
	traceEnd(fnScale, t)
	return scaled
}

// ABIVersion returns the kernel's ABI version.
func ABIVersion() uint32 {
	t := traceStart()
	version := uint32(C.kern_abi_version())
	traceEnd(fnABIVersion, t)
	return version
}
