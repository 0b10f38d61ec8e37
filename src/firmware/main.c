/*
 * main.c - polyboard reference firmware: C calling the Rust kernel.
 *
 * Output (semihosting stdout):
 *   hello from polyboard firmware on <BOARD_NAME>
 *   crc32(123456789) = cbf43926
 *   stats: count=4 min=5 max=35 mean*100=1750
 *   scale(1.5, 4.0)*100 = 600
 * Exit status 0 iff every check passed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "trace.h"

#ifndef BOARD_NAME
#define BOARD_NAME "unknown"
#endif

/* Non-const: lives in .data, so it checks the startup's .data copy. */
static uint32_t samples[] = { 10u, 20u, 35u, 5u };
/* Lives in .bss, so it checks the startup's zeroing. */
static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("CHECK FAILED: %s\n", what);
        failures++;
    }
}

static long centi(float f)
{
    return (long)(f * 100.0f + (f < 0.0f ? -0.5f : 0.5f));
}

int main(void)
{
    TRACE_MAIN_ENTERED();
    printf("hello from polyboard firmware on %s\n", BOARD_NAME);

    static const char check_input[] = "123456789";
    uint32_t crc = TRACE_CALL(KERN_FN_CRC32, kern_crc32((const uint8_t *)check_input, strlen(check_input)));
    printf("crc32(123456789) = %08" PRIx32 "\n", crc);
    check(crc == 0xcbf43926u, "crc32 check value");

    struct kern_stats st;
    int32_t rc = TRACE_CALL(KERN_FN_STATS_COMPUTE,
                            kern_stats_compute(samples, sizeof samples / sizeof samples[0], &st));
    check(rc == 0, "kern_stats_compute returned 0");
    if (rc == 0) {
        printf("stats: count=%" PRIu32 " min=%" PRIu32 " max=%" PRIu32 " mean*100=%ld\n",
               st.count, st.min, st.max, centi(st.mean));
        check(st.count == 4u && st.min == 5u && st.max == 35u, "stats count/min/max");
        check(st.mean == 17.5f, "stats mean == 17.5");
    }

    float scaled = TRACE_CALL(KERN_FN_SCALE, kern_scale(1.5f, 4.0f));
    printf("scale(1.5, 4.0)*100 = %ld\n", centi(scaled));
    check(scaled == 6.0f, "kern_scale(1.5, 4.0) == 6.0");

    check(TRACE_CALL(KERN_FN_ABI_VERSION, kern_abi_version()) == KERN_ABI_VERSION, "abi version");

    TRACE_REPORT();
    printf("%s: %d check(s) failed\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
