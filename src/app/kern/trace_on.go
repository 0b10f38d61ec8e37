//go:build polyboard_trace

package kern

/*
#define POLYBOARD_TRACE 1
#include "kernel.h"
*/
import "C"

import (
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"
)

// Tracing is true in a program built with `scons trace=1` (build tag polyboard_trace).
const Tracing = true

// loaded is the package's initialisation: the first boot timestamp the program can take.
var loaded = time.Now()

var mainEntered atomic.Int64 // nanoseconds after loaded

type callTrace struct {
	calls, totalNs, maxNs atomic.Int64
}

var traces [fnCount]callTrace

var functionNames = [fnCount]string{"kern_crc32", "kern_stats_compute", "kern_scale", "kern_abi_version"}

// The kernel's function numbers (kernel.h, enum kern_function) and ours must agree: a negative
// array length does not compile.
var _ [C.KERN_FN_COUNT - fnCount]struct{}
var _ [fnCount - C.KERN_FN_COUNT]struct{}

func traceStart() time.Time { return time.Now() }

func traceEnd(function int, started time.Time) {
	spent := time.Since(started).Nanoseconds()
	t := &traces[function]
	t.calls.Add(1)
	t.totalNs.Add(spent)
	for old := t.maxNs.Load(); spent > old && !t.maxNs.CompareAndSwap(old, spent); old = t.maxNs.Load() {
	}
}

// TraceMain records that main started (a boot timestamp).
func TraceMain() { mainEntered.Store(time.Since(loaded).Nanoseconds()) }

// TraceReport writes the TRACE records (docs/tracing.md): boot timestamps, each kernel call as
// timed here and as counted by the Rust kernel, and the Go heap.
func TraceReport(w io.Writer) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(w, "TRACE boot init_us=0 main_us=%d end_us=%d\n",
		mainEntered.Load()/1000, time.Since(loaded).Microseconds())
	for f, name := range functionNames {
		t := &traces[f]
		fmt.Fprintf(w, "TRACE call fn=%s calls=%d rust_calls=%d total_us=%d max_us=%d\n", name, t.calls.Load(),
			uint32(C.kern_trace_calls(C.uint32_t(f))), t.totalNs.Load()/1000, t.maxNs.Load()/1000)
	}
	fmt.Fprintf(w, "TRACE heap sys_bytes=%d in_use_bytes=%d total_alloc_bytes=%d stack_sys_bytes=%d gc_cycles=%d\n",
		m.HeapSys, m.HeapInuse, m.TotalAlloc, m.StackSys, m.NumGC)
}
