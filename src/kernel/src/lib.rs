//! polyboard reference kernel: a tiny `no_std` library with a C ABI.
//!
//! The same code is linked into Cortex-M firmware (C startup + C main) and
//! into Go programs for embedded Linux (through cgo). The C declarations live
//! in `include/kernel.h`; keep both in sync.
#![cfg_attr(not(test), no_std)]


// ABI version of this library: `KERN_ABI_VERSION` in `kernel.h`, read by build.rs.
include!(concat!(env!("OUT_DIR"), "/abi_version.rs"));

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Call counters for `scons trace=1` (feature `trace`; docs/tracing.md). Without the feature
/// neither the counters nor `kern_trace_calls` exist, so a release image holds no tracing code.
#[cfg(feature = "trace")]
mod trace {
    use core::sync::atomic::{AtomicU32, Ordering};

    /// Function numbers: `enum kern_function` in kernel.h.
    pub const CRC32: usize = 0;
    pub const STATS_COMPUTE: usize = 1;
    pub const SCALE: usize = 2;
    pub const ABI_VERSION: usize = 3;
    const COUNT: usize = 4;

    static CALLS: [AtomicU32; COUNT] = [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];

    /// One more call of `function`. Go calls the kernel from several threads; ARMv6-M (Cortex-M0)
    /// has no atomic read-modify-write, and runs one thread, so a load and a store do there.
    #[inline(always)]
    pub fn count(function: usize) {
        #[cfg(target_has_atomic = "32")]
        CALLS[function].fetch_add(1, Ordering::Relaxed);
        #[cfg(not(target_has_atomic = "32"))]
        CALLS[function].store(CALLS[function].load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    pub fn calls(function: u32) -> u32 {
        CALLS.get(function as usize).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// Counts a call of the named C function when the `trace` feature is on; nothing otherwise.
macro_rules! traced {
    ($function:ident) => {
        #[cfg(feature = "trace")]
        trace::count(trace::$function);
    };
}

/// Statistics over a sample set; C name `struct kern_stats`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KernStats {
    pub count: u32,
    pub min: u32,
    pub max: u32,
    pub mean: f32,
}

/// CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320, init/xorout 0xFFFFFFFF).
#[cfg(not(feature = "table-crc"))]
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xFFFF_FFFF;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Table-driven CRC-32 (feature `table-crc`): the same result, 1 KiB of flash for speed.
#[cfg(feature = "table-crc")]
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    let mut crc: u32 = 0xFFFF_FFFF;
    for &byte in data {
        crc = TABLE[((crc ^ byte as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Count, min, max and mean of `samples`; `None` if empty.
pub fn stats(samples: &[u32]) -> Option<KernStats> {
    if samples.is_empty() {
        return None;
    }
    let mut min = u32::MAX;
    let mut max = 0u32;
    let mut sum: u64 = 0;
    for &s in samples {
        min = min.min(s);
        max = max.max(s);
        sum += s as u64;
    }
    Some(KernStats {
        count: samples.len() as u32,
        min,
        max,
        mean: (sum as f64 / samples.len() as f64) as f32,
    })
}

/// C: `uint32_t kern_crc32(const uint8_t *data, size_t len);`
///
/// A null `data` is accepted only with `len == 0`.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn kern_crc32(data: *const u8, len: usize) -> u32 {
    traced!(CRC32);
    if data.is_null() || len == 0 {
        return crc32(&[]);
    }
    crc32(core::slice::from_raw_parts(data, len))
}

/// C: `int32_t kern_stats_compute(const uint32_t *samples, size_t n, struct kern_stats *out);`
///
/// Returns 0 on success, -1 on a null pointer or `n == 0` (`*out` untouched).
///
/// # Safety
/// `samples` must point to `n` readable `u32`; `out` to a writable `KernStats`.
#[no_mangle]
pub unsafe extern "C" fn kern_stats_compute(
    samples: *const u32,
    n: usize,
    out: *mut KernStats,
) -> i32 {
    traced!(STATS_COMPUTE);
    if samples.is_null() || out.is_null() || n == 0 {
        return -1;
    }
    match stats(core::slice::from_raw_parts(samples, n)) {
        Some(s) => {
            out.write(s);
            0
        }
        None => -1,
    }
}

/// C: `float kern_scale(float value, float factor);`
#[no_mangle]
pub extern "C" fn kern_scale(value: f32, factor: f32) -> f32 {
    traced!(SCALE);
    value * factor
}

/// C: `uint32_t kern_abi_version(void);`
#[no_mangle]
pub extern "C" fn kern_abi_version() -> u32 {
    traced!(ABI_VERSION);
    ABI_VERSION
}

/// C: `uint32_t kern_trace_calls(uint32_t function);` (`trace` feature only): how often the
/// function numbered `function` (`enum kern_function`) was called; 0 for an unknown number.
#[cfg(feature = "trace")]
#[no_mangle]
pub extern "C" fn kern_trace_calls(function: u32) -> u32 {
    trace::calls(function)
}


#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};
    use core::ptr;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let d = b"123456789";
        assert_eq!(unsafe { kern_crc32(d.as_ptr(), d.len()) }, 0xCBF4_3926);
    }

    #[test]
    fn crc32_empty() {
        assert_eq!(crc32(&[]), 0);
        assert_eq!(unsafe { kern_crc32(ptr::null(), 0) }, 0);
    }

    #[test]
    fn crc32_other_vectors() {
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn stats_ok() {
        let s = [3u32, 9, 1, 7];
        let mut out = KernStats::default();
        let rc = unsafe { kern_stats_compute(s.as_ptr(), s.len(), &mut out) };
        assert_eq!(rc, 0);
        assert_eq!(
            out,
            KernStats { count: 4, min: 1, max: 9, mean: 5.0 }
        );
    }

    #[test]
    fn stats_single_and_large() {
        let s = [u32::MAX, u32::MAX];
        let out = stats(&s).unwrap();
        assert_eq!(out.count, 2);
        assert_eq!(out.min, u32::MAX);
        assert_eq!(out.mean, u32::MAX as f32);
        assert_eq!(stats(&[42]).unwrap().mean, 42.0);
    }

    #[test]
    fn stats_errors() {
        let s = [1u32, 2, 3];
        let mut out = KernStats { count: 77, ..Default::default() };
        assert_eq!(unsafe { kern_stats_compute(s.as_ptr(), 0, &mut out) }, -1);
        assert_eq!(unsafe { kern_stats_compute(ptr::null(), 3, &mut out) }, -1);
        assert_eq!(
            unsafe { kern_stats_compute(s.as_ptr(), 3, ptr::null_mut()) },
            -1
        );
        assert_eq!(out.count, 77, "out must be untouched on error");
        assert!(stats(&[]).is_none());
    }

    #[test]
    fn scale() {
        assert_eq!(kern_scale(1.5, 4.0), 6.0);
        assert_eq!(kern_scale(-2.0, 0.25), -0.5);
    }

    #[test]
    fn abi_version_and_layout() {
        assert_eq!(kern_abi_version(), 1);
        assert_eq!(size_of::<KernStats>(), 16);
        assert_eq!(offset_of!(KernStats, count), 0);
        assert_eq!(offset_of!(KernStats, min), 4);
        assert_eq!(offset_of!(KernStats, max), 8);
        assert_eq!(offset_of!(KernStats, mean), 12);
    }
}
