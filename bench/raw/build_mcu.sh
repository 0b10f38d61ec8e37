#!/usr/bin/env bash
# Raw-commands baseline: build the polyboard reference firmware for an MCU
# board by hand, serially, the way a person would type it.
#   usage: bench/raw/build_mcu.sh BOARD OUTDIR     (BOARD: stm32f4 | lm3s6965)
# Outputs in OUTDIR: firmware.elf, firmware.bin, firmware.hex, firmware.map.
# The linker script is $OUTDIR/link.ld if present, else the reference one.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BOARD OUTDIR" >&2
    exit 2
fi
BOARD=$1
OUT=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$ROOT/src
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

case $BOARD in
    stm32f4)
        TRIPLE=thumbv7em-none-eabihf
        CPU=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
        FLASH="ORIGIN = 0x08000000, LENGTH = 0x100000"
        RAM="ORIGIN = 0x20000000, LENGTH = 0x20000"
        CCM_MEM="  CCM (rw) : ORIGIN = 0x10000000, LENGTH = 0x10000"
        CCM_SEC="  .ccm (NOLOAD) : { *(.ccm .ccm.*) } > CCM"
        ;;
    lm3s6965)
        TRIPLE=thumbv7m-none-eabi
        CPU=(-mcpu=cortex-m3 -mthumb -mfloat-abi=soft)
        FLASH="ORIGIN = 0x00000000, LENGTH = 256K"
        RAM="ORIGIN = 0x20000000, LENGTH = 64K"
        CCM_MEM=""
        CCM_SEC=""
        ;;
    *)
        echo "unknown MCU board: $BOARD (stm32f4 | lm3s6965)" >&2
        exit 2
        ;;
esac

# 1. Rust kernel -> libkernel.a (core built from source: no prebuilt rust-std).
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$OUT/target" \
    /usr/bin/cargo build --release -Zbuild-std=core --target "$TRIPLE" \
    --manifest-path "$SRC/kernel/Cargo.toml"
LIBKERNEL=$OUT/target/$TRIPLE/release/libkernel.a

# 2. Linker script.
if [ ! -f "$OUT/link.ld" ]; then
    cat > "$OUT/link.ld" <<LD
ENTRY(Reset_Handler)
MEMORY
{
  FLASH (rx) : $FLASH
  RAM (rwx) : $RAM
$CCM_MEM
}
_estack = ORIGIN(RAM) + LENGTH(RAM);
_min_heap_size = 0x2000;
_min_stack_size = 0x1000;
SECTIONS
{
  .isr_vector : { . = ALIGN(4); KEEP(*(.isr_vector)) . = ALIGN(4); } > FLASH
  .text : { *(.text .text.*) *(.glue_7) *(.glue_7t) *(.eh_frame) KEEP(*(.init)) KEEP(*(.fini)) . = ALIGN(4); } > FLASH
  .rodata : { *(.rodata .rodata.*) . = ALIGN(4); } > FLASH
  .ARM.extab : { *(.ARM.extab* .gnu.linkonce.armextab.*) } > FLASH
  .ARM.exidx : { __exidx_start = .; *(.ARM.exidx* .gnu.linkonce.armexidx.*) __exidx_end = .; } > FLASH
  .preinit_array : { PROVIDE_HIDDEN(__preinit_array_start = .); KEEP(*(.preinit_array*)) PROVIDE_HIDDEN(__preinit_array_end = .); } > FLASH
  .init_array : { PROVIDE_HIDDEN(__init_array_start = .); KEEP(*(SORT(.init_array.*))) KEEP(*(.init_array*)) PROVIDE_HIDDEN(__init_array_end = .); } > FLASH
  .fini_array : { PROVIDE_HIDDEN(__fini_array_start = .); KEEP(*(SORT(.fini_array.*))) KEEP(*(.fini_array*)) PROVIDE_HIDDEN(__fini_array_end = .); } > FLASH
  _sidata = LOADADDR(.data);
  .data : { . = ALIGN(4); _sdata = .; *(.data .data.*) . = ALIGN(4); _edata = .; } > RAM AT> FLASH
  .bss (NOLOAD) : { . = ALIGN(4); _sbss = .; __bss_start__ = _sbss; *(.bss .bss.*) *(COMMON) . = ALIGN(4); _ebss = .; __bss_end__ = _ebss; } > RAM
  .heap (NOLOAD) : { . = ALIGN(8); PROVIDE(end = .); PROVIDE(_end = .); . = . + _min_heap_size; . = ALIGN(8); } > RAM
  .stack (NOLOAD) : { . = ALIGN(8); . = . + _min_stack_size; . = ALIGN(8); } > RAM
$CCM_SEC
}
LD
fi

# 3. Compile each C file.
CFLAGS=(-Os -g -ffunction-sections -fdata-sections -I"$SRC/kernel/include" "-DBOARD_NAME=\"$BOARD\"")
arm-none-eabi-gcc "${CPU[@]}" "${CFLAGS[@]}" -c "$SRC/firmware/startup.c" -o "$OUT/startup.o"
arm-none-eabi-gcc "${CPU[@]}" "${CFLAGS[@]}" -c "$SRC/firmware/main.c" -o "$OUT/main.o"

# 4. Link (newlib + rdimon semihosting), then flashable images.
arm-none-eabi-gcc "${CPU[@]}" -nostartfiles --specs=rdimon.specs -T "$OUT/link.ld" \
    -Wl,--gc-sections -Wl,-Map="$OUT/firmware.map" \
    "$OUT/startup.o" "$OUT/main.o" "$LIBKERNEL" -o "$OUT/firmware.elf"
arm-none-eabi-objcopy -O binary "$OUT/firmware.elf" "$OUT/firmware.bin"
arm-none-eabi-objcopy -O ihex "$OUT/firmware.elf" "$OUT/firmware.hex"
