/*
 * main.c - prints the embedded asset's length and CRC-32 (semihosting stdout):
 *   asset greeting: <length> bytes, crc32 = <8 hex digits>
 */
#include <stdint.h>
#include <stdio.h>

#include "greeting.h" /* written by the binary_asset component: greeting[], greeting_len */

static uint32_t crc32(const unsigned char *data, unsigned int length)
{
    uint32_t crc = 0xffffffffu;
    for (unsigned int i = 0; i < length; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

int main(void)
{
    printf("asset greeting: %u bytes, crc32 = %08lx\n", greeting_len,
           (unsigned long)crc32(greeting, greeting_len));
    return 0;
}
