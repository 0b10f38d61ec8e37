// Command app is the polyboard reference program for embedded Linux boards:
// Go orchestrates, the Rust kernel (linked through cgo) computes.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"polyboard.example/app/kern"
)

func main() {
	kern.TraceMain()
	fmt.Printf("hello from polyboard app on %s/%s\n", runtime.GOOS, runtime.GOARCH)
	failures := 0
	check := func(ok bool, what string) {
		if !ok {
			fmt.Printf("CHECK FAILED: %s\n", what)
			failures++
		}
	}

	crc := kern.CRC32([]byte("123456789"))
	fmt.Printf("crc32(123456789) = %08x\n", crc)
	check(crc == 0xcbf43926, "crc32 check value")

	// Several goroutines hash the same buffers concurrently through the kernel.
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 1024+i*97)
		for j := range bufs[i] {
			bufs[i][j] = byte(i*31 + j*7)
		}
	}
	const workers = 4
	results := make([][]uint32, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := make([]uint32, len(bufs))
			for i, b := range bufs {
				r[i] = kern.CRC32(b)
			}
			results[w] = r
		}(w)
	}
	wg.Wait()
	agree := true
	for w := 1; w < workers; w++ {
		for i := range bufs {
			agree = agree && results[w][i] == results[0][i]
		}
	}
	fmt.Printf("goroutines: %d workers x %d buffers, results agree: %v\n", workers, len(bufs), agree)
	check(agree, "concurrent crc32 results agree")

	st, err := kern.Stats([]uint32{10, 20, 35, 5})
	check(err == nil, "kern.Stats returned no error")
	fmt.Printf("stats: count=%d min=%d max=%d mean=%.2f\n", st.Count, st.Min, st.Max, st.Mean)
	check(st == kern.KernStats{Count: 4, Min: 5, Max: 35, Mean: 17.5}, "stats values")
	_, err = kern.Stats(nil)
	check(err != nil, "kern.Stats(nil) returns an error")

	scaled := kern.Scale(1.5, 4.0)
	fmt.Printf("scale(1.5, 4.0) = %.2f\n", scaled)
	check(scaled == 6.0, "kern.Scale(1.5, 4.0) == 6")

	check(kern.ABIVersion() == kern.ABIVersionHeader, "abi version")

	kern.TraceReport(os.Stdout)
	if failures > 0 {
		fmt.Printf("FAILED: %d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("OK: 0 check(s) failed")
}
