package kern

// The kernel's C functions, numbered as kernel.h's enum kern_function (trace=1 only).
const (
	fnCRC32 = iota
	fnStatsCompute
	fnScale
	fnABIVersion
	fnCount
)
