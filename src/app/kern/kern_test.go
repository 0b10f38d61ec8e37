package kern

import (
	"sync"
	"testing"
	"unsafe"
)

func TestCRC32CheckValue(t *testing.T) {
	if got := CRC32([]byte("123456789")); got != 0xcbf43926 {
		t.Fatalf("CRC32(123456789) = %08x, want cbf43926", got)
	}
}

func TestCRC32Empty(t *testing.T) {
	if got := CRC32(nil); got != 0 {
		t.Fatalf("CRC32(nil) = %08x, want 0", got)
	}
	if got := CRC32([]byte{}); got != 0 {
		t.Fatalf("CRC32([]byte{}) = %08x, want 0", got)
	}
}

func TestCRC32Concurrent(t *testing.T) {
	data := []byte("The quick brown fox jumps over the lazy dog")
	var wg sync.WaitGroup
	errs := make(chan uint32, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := CRC32(data); got != 0x414fa339 {
				errs <- got
			}
		}()
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("concurrent CRC32 = %08x, want 414fa339", got)
	}
}

func TestStatsOK(t *testing.T) {
	got, err := Stats([]uint32{3, 9, 1, 7})
	if err != nil {
		t.Fatal(err)
	}
	want := KernStats{Count: 4, Min: 1, Max: 9, Mean: 5}
	if got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

func TestStatsErrors(t *testing.T) {
	if _, err := Stats(nil); err == nil {
		t.Fatal("Stats(nil): want error")
	}
	s := []uint32{1, 2, 3}
	if rc := statsRaw(s, 0, true); rc != -1 {
		t.Errorf("n == 0: rc = %d, want -1", rc)
	}
	if rc := statsRaw(nil, 3, true); rc != -1 {
		t.Errorf("samples == NULL: rc = %d, want -1", rc)
	}
	if rc := statsRaw(s, 3, false); rc != -1 {
		t.Errorf("out == NULL: rc = %d, want -1", rc)
	}
}

func TestScale(t *testing.T) {
	if got := Scale(1.5, 4.0); got != 6.0 {
		t.Fatalf("Scale(1.5, 4.0) = %v, want 6", got)
	}
	if got := Scale(-2.0, 0.25); got != -0.5 {
		t.Fatalf("Scale(-2, 0.25) = %v, want -0.5", got)
	}
}

func TestABIVersion(t *testing.T) {
	if ABIVersionHeader != 1 {
		t.Errorf("KERN_ABI_VERSION = %d, want 1", ABIVersionHeader)
	}
	if got := ABIVersion(); got != ABIVersionHeader {
		t.Fatalf("ABIVersion() = %d, want KERN_ABI_VERSION = %d", got, ABIVersionHeader)
	}
}

func TestStructLayout(t *testing.T) {
	var c CStats
	if sz := unsafe.Sizeof(c); sz != 16 {
		t.Errorf("sizeof(struct kern_stats) = %d, want 16", sz)
	}
	if off := unsafe.Offsetof(c.mean); off != 12 {
		t.Errorf("offsetof(mean) = %d, want 12", off)
	}
	if off := unsafe.Offsetof(c.max); off != 8 {
		t.Errorf("offsetof(max) = %d, want 8", off)
	}
}
