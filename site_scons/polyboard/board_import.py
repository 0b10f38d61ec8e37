"""``scons import-board from=<file>``: a polyboard board file from another ecosystem's description.

Two formats, read as their projects document them:

* a PlatformIO board manifest (JSON, ``platform-*/boards/*.json``): ``build.cpu``, ``build.mcu``,
  ``build.f_cpu``, ``upload.maximum_size`` / ``upload.maximum_ram_size``, ``debug.openocd_target``
  or ``debug.openocd_board``, ``name``, ``vendor``;
* a probe-rs target description (YAML, ``probe-rs/targets/*.yaml``): ``variants[].cores[].type``
  and ``variants[].memory_map`` with ``!Nvm`` (flash) and ``!Ram`` ranges; a file of several
  variants needs ``variant=``.

The new board inherits the shipped board of the same CPU (the "base"), and sets what the source
says (sizes, addresses, the chip's name); what it had to guess (a PlatformIO manifest has sizes
but no addresses: they are the base's; the float ABI; the emulator) is listed in the file and
said on the command line. The file is written like ``new-board``'s (board_scaffold.py): checked
as a board first, never over an existing file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import PolyboardError

# CPU name (PlatformIO build.cpu, probe-rs core type) -> the shipped board a new board inherits.
PLATFORMIO_BASES = {"cortex-m0": "microbit", "cortex-m0plus": "microbit", "cortex-m3": "lm3s6965",
                    "cortex-m4": "stm32f4", "cortex-m7": "stm32f4", "cortex-m33": "mps2-an505",
                    "riscv": "hifive1"}
PROBE_RS_BASES = {"armv6m": "microbit", "armv7m": "lm3s6965", "armv7em": "stm32f4", "armv8m": "mps2-an505",
                  "riscv": "hifive1"}
FORMATS = "a PlatformIO board manifest (.json with build.cpu and upload.maximum_size) or a probe-rs target " \
          "description (.yaml with variants and memory_map)"


def _read(path: Path, given: str) -> tuple[str, object]:
    """(format, data) of the file: 'platformio' or 'probe-rs', by its content."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolyboardError("no such file", where=given) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolyboardError(f"cannot read it as text ({exc}); expected {FORMATS}", where=given) from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("build"), dict) and "cpu" in data["build"]:
        return "platformio", data
    if data is None:
        data = _yaml(text)
        if isinstance(data, dict) and isinstance(data.get("variants"), list):
            return "probe-rs", data
    raise PolyboardError(f"not a board description polyboard can import; expected {FORMATS}", where=given)


def _yaml(text: str):
    """probe-rs's YAML with its tags (``!Nvm``, ``!Ram``, ``!Arm``...): a tagged mapping becomes
    a dict with the tag under ``"!"``. Anything that is not YAML is None."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
            return {"!": suffix, **value}
        return {"!": suffix}

    Loader.add_multi_constructor("!", tagged)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return None


def _board_id(name: str) -> str:
    """A board id from a chip or board name: lower case, other characters as '-'."""
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.")[:64] or "imported"


def _from_platformio(data: dict, given: str, catalog) -> dict:
    build, upload, debug = data["build"], data.get("upload") or {}, data.get("debug") or {}
    cpu = str(build.get("cpu", ""))
    base = PLATFORMIO_BASES.get(cpu)
    if base is None:
        raise PolyboardError(f"build.cpu {cpu!r} has no shipped base board; known: {', '.join(PLATFORMIO_BASES)}",
                             where=given)
    flash, ram = upload.get("maximum_size"), upload.get("maximum_ram_size")
    if not (isinstance(flash, int) and isinstance(ram, int) and flash > 0 and ram > 0):
        raise PolyboardError("no memory information: upload.maximum_size and upload.maximum_ram_size (bytes) are "
                             "needed to size the board's flash and RAM", where=given)
    parent = catalog.load(base)
    place = parent.memory.sections.placements()
    code, data_region = parent.memory.region(place["code"]), parent.memory.region(place["data"])
    guessed = [f"memory.regions.{code.name}.origin = {code.origin:#x} and memory.regions.{data_region.name}.origin "
               f"= {data_region.origin:#x}: {base}'s (a PlatformIO manifest gives sizes, not addresses)",
               f"cpu.float_abi = {parent.cpu.float_abi!r}: {base}'s (build.cpu {cpu!r} does not say)",
               f"emulator: {base}'s QEMU machine (runs the firmware only if the memory map fits it)"]
    said = [f"build.cpu = {cpu!r} -> inherits {base!r}",
            f"upload.maximum_size = {flash} -> {code.name} length",
            f"upload.maximum_ram_size = {ram} -> {data_region.name} length"]
    if "f_cpu" in build:
        said.append(f"build.f_cpu = {build['f_cpu']!r}: not a board key (the clock is the firmware's)")
    flash_table = {}
    target = debug.get("openocd_target")
    if isinstance(target, str) and target:
        flash_table = {"method": "openocd", "openocd_target": f"target/{target}.cfg"}
        said.append(f"debug.openocd_target = {target!r} -> flash.openocd_target")
    elif isinstance(debug.get("openocd_board"), str):
        said.append(f"debug.openocd_board = {debug['openocd_board']!r}: kept as a comment (openocd's "
                    "board/*.cfg; polyboard's flash method openocd takes an interface and a target)")
    name, vendor = str(data.get("name", "")), str(data.get("vendor", ""))
    name = name if not vendor or name.startswith(vendor) else f"{vendor} {name}"
    mcu = str(build.get("mcu", ""))
    return {"id": _board_id(mcu or name), "base": base, "description": f"{name} ({mcu}), imported from PlatformIO",
            "regions": [(code.name, code.origin, flash, code.attributes),
                        (data_region.name, data_region.origin, ram, data_region.attributes)],
            "flash": flash_table, "said": said, "guessed": guessed}


def _from_probe_rs(data: dict, given: str, catalog, variant: str) -> dict:
    variants = [v for v in data["variants"] if isinstance(v, dict)]
    names = [str(v.get("name")) for v in variants]
    if variant:
        chosen = [v for v in variants if v.get("name") == variant]
        if not chosen:
            raise PolyboardError(f"no variant {variant!r} in {data.get('name', 'the file')}; variants: "
                                 f"{', '.join(names)}", where=f"variant={variant}")
        chip = chosen[0]
    elif len(variants) == 1:
        chip = variants[0]
    else:
        raise PolyboardError(f"the file describes {len(variants)} chips; choose one with variant=NAME: "
                             f"{', '.join(names)}", where=given)
    cores = [c for c in chip.get("cores") or [] if isinstance(c, dict)]
    core_type = str(cores[0].get("type", "")) if cores else ""
    base = PROBE_RS_BASES.get(core_type)
    if base is None:
        raise PolyboardError(f"core type {core_type!r} of {chip.get('name')} has no shipped base board; known: "
                             f"{', '.join(PROBE_RS_BASES)}", where=given)
    ranges = {"Nvm": [], "Ram": []}
    for entry in chip.get("memory_map") or []:
        if isinstance(entry, dict) and entry.get("!") in ranges and isinstance(entry.get("range"), dict):
            start, end = entry["range"].get("start"), entry["range"].get("end")
            if isinstance(start, int) and isinstance(end, int) and end > start:
                ranges[entry["!"]].append((start, end, bool(entry.get("is_boot_memory"))))
    if not ranges["Nvm"] or not ranges["Ram"]:
        raise PolyboardError(f"no memory information for {chip.get('name')}: memory_map needs an !Nvm (flash) and "
                             "a !Ram range", where=given)
    nvm = next((r for r in ranges["Nvm"] if r[2]), ranges["Nvm"][0])  # the boot memory
    ram = ranges["Ram"][0]
    parent = catalog.load(base)
    place = parent.memory.sections.placements()
    code, data_region = parent.memory.region(place["code"]), parent.memory.region(place["data"])
    said = [f"cores[0].type = {core_type!r} -> inherits {base!r}",
            f"memory_map !Nvm {nvm[0]:#x}..{nvm[1]:#x}" + (" (is_boot_memory)" if nvm[2] else "") + f" -> {code.name}",
            f"memory_map !Ram {ram[0]:#x}..{ram[1]:#x} -> {data_region.name}",
            f"name = {chip.get('name')!r} -> flash.probe_rs_chip"]
    guessed = [f"cpu.name = {parent.cpu.name!r} and cpu.float_abi = {parent.cpu.float_abi!r}: {base}'s "
               f"(core type {core_type!r} names the architecture, not the core)",
               f"emulator: {base}'s QEMU machine (runs the firmware only if the memory map fits it)"]
    if len(ranges["Ram"]) > 1 or len(ranges["Nvm"]) > 1:
        guessed.append("only the first !Ram and the boot !Nvm range became regions; add the others by hand")
    return {"id": _board_id(str(chip.get("name"))), "base": base,
            "description": f"{chip.get('name')} ({data.get('name', '')}), imported from probe-rs",
            "regions": [(code.name, nvm[0], nvm[1] - nvm[0], code.attributes),
                        (data_region.name, ram[0], ram[1] - ram[0], data_region.attributes)],
            "flash": {"method": "probe-rs", "probe_rs_chip": str(chip.get("name"))}, "said": said,
            "guessed": guessed}


def import_board(catalog, root: Path, arguments: dict[str, str], reserved: tuple[str, ...]):
    from .board_scaffold import PlannedFile, check_new_id, memory_tables
    from .board import MemoryRegion

    source = arguments.get("from", "")
    given = f"from={source}"
    if not source:
        raise PolyboardError(f"name the file to import: from=FILE, {FORMATS}", where="from=")
    path = Path(source)
    if not path.is_absolute():  # as the user typed it: from the folder scons was started in
        import SCons.Script as S
        path = Path(S.GetLaunchDir()) / source
    kind, data = _read(path, given)
    if kind == "platformio":
        found = _from_platformio(data, given, catalog)
    else:
        found = _from_probe_rs(data, given, catalog, arguments.get("variant", ""))
    board_id = arguments.get("id") or found["id"]
    target = check_new_id(catalog, board_id, root, reserved, "id")
    regions = [MemoryRegion(name, origin, length, attributes) for name, origin, length, attributes in found["regions"]]
    removed = [r.name for r in catalog.load(found["base"]).memory.regions if r.name not in {x.name for x in regions}]
    lines = [f"# Board {board_id}: written by `scons import-board from={Path(source).name}` from "
             f"{'a PlatformIO board manifest' if kind == 'platformio' else 'a probe-rs target description'}.",
             "# Read from the file:"]
    lines += [f"#   {line}" for line in found["said"]]
    lines += ["# GUESSED (check these, then run `scons board=" + board_id + " check-board`):"]
    lines += [f"#   {line}" for line in found["guessed"]]
    lines += [f'inherits = "{found["base"]}"', f"description = {json.dumps(found['description'])}"]
    if removed:  # an empty table removes an inherited region (docs/boards.md, merge rules)
        lines += ["", "[memory.regions]"]
        lines += [f"{name} = {{}}   # {found['base']} has it; the imported file does not" for name in removed]
    lines += memory_tables(regions, "")
    if found["flash"]:
        lines += ["", "[flash]"] + [f"{key} = {json.dumps(value)}" for key, value in found["flash"].items()]
    text = "\n".join(lines) + "\n"
    catalog.trial(board_id, text, target)
    guesses = "; ".join(found["guessed"])
    return PlannedFile(target, text, f"polyboard: wrote boards/{board_id}.toml (inherits {found['base']}) from "
                                     f"{Path(source).name}; guessed: {guesses}")
