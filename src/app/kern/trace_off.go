//go:build !polyboard_trace

package kern

import "io"

// Tracing is false unless the program is built with `scons trace=1` (build tag polyboard_trace).
const Tracing = false

// Without the tag every trace hook is empty and inlined away: the program holds no tracing code.
type traceStamp struct{}

func traceStart() traceStamp   { return traceStamp{} }
func traceEnd(int, traceStamp) {}
func TraceMain()               {}
func TraceReport(io.Writer)    {}
