/*
 * trace.c - boot timestamps, kernel-call times and peak stack use for `scons trace=1`.
 *
 * The clock is semihosting's SYS_ELAPSED/SYS_TICKFREQ (the channel the firmware already prints
 * on; QEMU answers in nanoseconds since it started), so the same code times Cortex-M and RISC-V
 * and needs no timer peripheral. A semihosting call traps to the host: each timed kernel call
 * carries a few microseconds of that, which the summary states. The stack is painted at reset and
 * scanned at the end (the classic high-water mark). Compiled without POLYBOARD_TRACE this file
 * is empty.
 */
#include "trace.h"

#ifdef POLYBOARD_TRACE

#include <stdio.h>

#include "kernel.h"

#define SYS_ELAPSED 0x30
#define SYS_TICKFREQ 0x31
#define STACK_PAINT 0xa5a5a5a5u
#define UNTOUCHED_RUN 32u   /* words of paint that end the scan: 128 bytes never written */

extern uint32_t _ebss, _estack;

static uintptr_t semihost(uintptr_t operation, void *argument)
{
#if defined(__arm__)
    register uintptr_t r0 __asm__("r0") = operation;
    register void *r1 __asm__("r1") = argument;
    __asm__ volatile ("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
#elif defined(__riscv)
    register uintptr_t a0 __asm__("a0") = operation;
    register void *a1 __asm__("a1") = argument;
    /* The semihosting sequence: uncompressed, and not across a page (hence the alignment). */
    __asm__ volatile (".option push\n\t.option norvc\n\t.balign 16\n\t"
                      "slli zero, zero, 0x1f\n\tebreak\n\tsrai zero, zero, 7\n\t.option pop"
                      : "+r"(a0) : "r"(a1) : "memory");
    return a0;
#else
#error "trace.c: semihosting is known for Arm and RISC-V only"
#endif
}

static uint32_t ticks_per_second;   /* .bss: read at trace_boot, after the startup zeroed it */
static uint64_t boot_reset_ns, boot_ready_ns, boot_main_ns;
static uint32_t *stack_painted_top;

static const char *const function_names[KERN_FN_COUNT] = {
    "kern_crc32", "kern_stats_compute", "kern_scale", "kern_abi_version",
};
static uint32_t calls[KERN_FN_COUNT];
static uint64_t total_ns[KERN_FN_COUNT], max_ns[KERN_FN_COUNT];

uint64_t trace_ticks(void)
{
    uint32_t block[2] = { 0, 0 };   /* low word, high word */
    if (semihost(SYS_ELAPSED, block) != 0)
        return 0;
    return ((uint64_t)block[1] << 32) | block[0];
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
    uint32_t hz = ticks_per_second ? ticks_per_second : 1000000000u;
    if (hz == 1000000000u)
        return ticks;
    return (ticks / hz) * 1000000000u + (ticks % hz) * 1000000000u / hz;
}

uint64_t trace_now_ns(void)
{
    return ticks_to_ns(trace_ticks());
}

void trace_boot(uint64_t reset_ticks)
{
    uintptr_t hz = semihost(SYS_TICKFREQ, 0);
    ticks_per_second = (hz == (uintptr_t)-1 || hz == 0) ? 1000000000u : (uint32_t)hz;
    boot_reset_ns = ticks_to_ns(reset_ticks);
    boot_ready_ns = trace_now_ns();
    /* Paint from the end of .bss up to a little below this frame. */
    uint32_t here;
    uint32_t *top = (uint32_t *)((uintptr_t)&here & ~(uintptr_t)3) - 16;
    for (uint32_t *word = &_ebss; word < top; word++)
        *word = STACK_PAINT;
    stack_painted_top = top;
}

void trace_main_entered(void)
{
    boot_main_ns = trace_now_ns();
}

void trace_call_done(unsigned function, uint64_t started_ns)
{
    uint64_t spent = trace_now_ns() - started_ns;
    if (function >= KERN_FN_COUNT)
        return;
    calls[function]++;
    total_ns[function] += spent;
    if (spent > max_ns[function])
        max_ns[function] = spent;
}

/* The lowest stack word written: scanning down from the painted top, the stack ends where a run
 * of paint starts (the heap, if any, lies below that run). */
static uint32_t stack_peak_bytes(void)
{
    uint32_t *word = stack_painted_top, *lowest = stack_painted_top;
    unsigned run = 0;
    while (word > &_ebss && run < UNTOUCHED_RUN) {
        word--;
        if (*word == STACK_PAINT) {
            run++;
        } else {
            run = 0;
            lowest = word;
        }
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)lowest);
}

static unsigned long us(uint64_t ns)
{
    return (unsigned long)(ns / 1000u);
}

void trace_report(void)
{
    uint64_t end_ns = trace_now_ns();
    printf("TRACE boot reset_us=%lu ready_us=%lu main_us=%lu end_us=%lu\n", us(boot_reset_ns),
           us(boot_ready_ns), us(boot_main_ns), us(end_ns));
    for (unsigned f = 0; f < KERN_FN_COUNT; f++) {
        printf("TRACE call fn=%s calls=%lu rust_calls=%lu total_us=%lu max_us=%lu\n", function_names[f],
               (unsigned long)calls[f], (unsigned long)kern_trace_calls(f), us(total_ns[f]), us(max_ns[f]));
    }
    printf("TRACE stack peak_bytes=%lu size_bytes=%lu\n", (unsigned long)stack_peak_bytes(),
           (unsigned long)((uintptr_t)&_estack - (uintptr_t)&_ebss));
}

#else
typedef int polyboard_trace_disabled; /* ISO C wants a declaration in every file */
#endif /* POLYBOARD_TRACE */
