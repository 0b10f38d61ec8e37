/*
 * test_main.c - on-target test image for the Rust kernel (linked instead of
 * main.c, with the same startup.c). Prints "ok <name>" / "FAIL <name>" per
 * case and finally "N passed, M failed"; exit status 0 iff M == 0.
 */
#include <stddef.h>
#include <stdio.h>

#include "kernel.h"

typedef int (*test_fn)(void);

struct test_case {
    const char *name;
    test_fn fn;
};

static int test_crc32_check_value(void)
{
    static const uint8_t in[] = { '1', '2', '3', '4', '5', '6', '7', '8', '9' };
    return kern_crc32(in, sizeof in) == 0xcbf43926u;
}

static int test_crc32_empty(void)
{
    static const uint8_t in[1] = { 0 };
    return kern_crc32(in, 0) == 0u && kern_crc32(NULL, 0) == 0u;
}

static int test_stats_ok(void)
{
    static const uint32_t s[] = { 3u, 9u, 1u, 7u };
    struct kern_stats st = { 0 };
    return kern_stats_compute(s, 4, &st) == 0
        && st.count == 4u && st.min == 1u && st.max == 9u && st.mean == 5.0f;
}

static int test_stats_null(void)
{
    static const uint32_t s[] = { 1u, 2u };
    struct kern_stats st = { 77u, 0u, 0u, 0.0f };
    return kern_stats_compute(NULL, 2, &st) == -1
        && kern_stats_compute(s, 2, NULL) == -1
        && st.count == 77u;
}

static int test_stats_empty(void)
{
    static const uint32_t s[] = { 1u };
    struct kern_stats st = { 77u, 0u, 0u, 0.0f };
    return kern_stats_compute(s, 0, &st) == -1 && st.count == 77u;
}

static int test_scale(void)
{
    return kern_scale(1.5f, 4.0f) == 6.0f && kern_scale(-2.0f, 0.25f) == -0.5f;
}

static int test_abi_version(void)
{
    return kern_abi_version() == KERN_ABI_VERSION;
}

static int test_struct_layout(void)
{
    return sizeof(struct kern_stats) == 16u
        && offsetof(struct kern_stats, count) == 0u
        && offsetof(struct kern_stats, min) == 4u
        && offsetof(struct kern_stats, max) == 8u
        && offsetof(struct kern_stats, mean) == 12u;
}

static const struct test_case tests[] = {
    { "crc32_check_value", test_crc32_check_value },
    { "crc32_empty", test_crc32_empty },
    { "stats_ok", test_stats_ok },
    { "stats_null", test_stats_null },
    { "stats_empty", test_stats_empty },
    { "scale", test_scale },
    { "abi_version", test_abi_version },
    { "struct_layout", test_struct_layout },
};

int main(void)
{
    unsigned passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (tests[i].fn()) {
            printf("ok %s\n", tests[i].name);
            passed++;
        } else {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        }
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
