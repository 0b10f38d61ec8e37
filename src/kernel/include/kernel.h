/*
 * kernel.h - C interface of the polyboard reference kernel (Rust, no_std).
 *
 * Shared by the Cortex-M firmware (C) and the embedded-Linux app (Go/cgo).
 * Must match src/kernel/src/lib.rs exactly.
 */
#ifndef POLYBOARD_KERNEL_H
#define POLYBOARD_KERNEL_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KERN_ABI_VERSION 1u

/* Mirrors `#[repr(C)] struct KernStats`: 16 bytes, mean at offset 12. */
struct kern_stats {
    uint32_t count;
    uint32_t min;
    uint32_t max;
    float mean;
};

/* CRC-32 (IEEE, reflected, poly 0xEDB88320, init/xorout 0xFFFFFFFF).
 * crc32("123456789") == 0xcbf43926; data may be NULL when len == 0. */
uint32_t kern_crc32(const uint8_t *data, size_t len);

/* Count/min/max/mean of samples[0..n). Returns 0 on success, -1 if
 * samples or out is NULL or n == 0 (out is then left untouched). */
int32_t kern_stats_compute(const uint32_t *samples, size_t n, struct kern_stats *out);

/* value * factor; floats passed in registers on hard-float ABIs. */
float kern_scale(float value, float factor);

/* Returns KERN_ABI_VERSION. */
uint32_t kern_abi_version(void);

#ifdef POLYBOARD_TRACE
/* `scons trace=1` (the kernel's cargo feature "trace"): the functions above, numbered, and how
 * often each was called. */
enum kern_function {
    KERN_FN_CRC32,
    KERN_FN_STATS_COMPUTE,
    KERN_FN_SCALE,
    KERN_FN_ABI_VERSION,
    KERN_FN_COUNT
};
uint32_t kern_trace_calls(uint32_t function);
#endif

#ifdef __cplusplus
}
#endif

#endif /* POLYBOARD_KERNEL_H */
