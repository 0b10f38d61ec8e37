"""Assembly sources (``.S`` preprocessed, ``.s`` plain) build on microcontroller boards, as vendor
SDKs and TinyGo ship their startup code. The proof: the reference firmware with its startup in
assembly (gcc's own translation of startup.c, so it is real code, not a stub) runs in QEMU."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import run_scons, write

pytestmark = pytest.mark.toolchain

ASSEMBLY_SCONSTRUCT = '''\
import polyboard

project = polyboard.start()
kernel = project.rust_staticlib("kernel", crate="src/kernel")
project.c_firmware("firmware", sources=["src/firmware/startup.S", "src/firmware/main.c"], libs=[kernel])
project.c_firmware("plain", sources=["src/firmware/startup.s", "src/firmware/main.c"], libs=[kernel])
project.finish()
'''
STM32F4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]


def test_an_assembly_startup_runs_in_qemu(built_scratch_tree: Path):
    firmware = built_scratch_tree / "src" / "firmware"
    for name in ("startup.S", "startup.s"):
        subprocess.run(["arm-none-eabi-gcc", "-S", *STM32F4_FLAGS, str(firmware / "startup.c"), "-o",
                        str(firmware / name)], check=True, timeout=60)
    write(built_scratch_tree / "SConstruct", ASSEMBLY_SCONSTRUCT)
    build = run_scons(built_scratch_tree, "board=stm32f4", timeout=300)
    assert build.returncode == 0, build.output
    assert "AS      [stm32f4] build/stm32f4/obj/firmware/src/firmware/startup.S.o" in build.stdout
    assert "AS      [stm32f4] build/stm32f4/obj/plain/src/firmware/startup.s.o" in build.stdout
    result = run_scons(built_scratch_tree, "board=stm32f4", "run", timeout=300)
    assert result.returncode == 0, result.output
    assert "[stm32f4] crc32(123456789) = cbf43926" in result.stdout
    plain = run_scons(built_scratch_tree, "board=stm32f4", "run", "component=plain", timeout=300)
    assert plain.returncode == 0 and "[stm32f4] OK: 0 check(s) failed" in plain.stdout, plain.output


def test_an_assembly_syntax_error_shows_the_assemblers_message(scratch_tree: Path):
    write(scratch_tree / "src" / "firmware" / "bad.S", "\tmovz r0, #1\n")
    write(scratch_tree / "SConstruct", "import polyboard\nproject = polyboard.start()\n"
                                       "project.c_firmware('fw', sources=['src/firmware/bad.S'])\nproject.finish()\n")
    result = run_scons(scratch_tree, "board=stm32f4", timeout=120)
    assert result.returncode == 2, result.output
    assert "src/firmware/bad.S:1: Error: bad instruction `movz r0,#1'" in result.stderr
    assert "Traceback" not in result.output
    assert not (scratch_tree / "build" / "stm32f4" / "fw.elf").exists()
