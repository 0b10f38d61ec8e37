"""The HTML size report: one self-contained page per board (and one for a multi-board build).

For people, not tools: a bar per memory region split into its components, a click on a
component lists its largest symbols, and the numbers in a table below each bar. Everything is
in the file (CSS, the script, the data as JSON): no network, no CDN, so it opens from a CI
artifact or a mail attachment. Names from the build (file paths, symbols) are data: the page's
script puts them in with ``textContent``, never as markup, and the JSON is escaped so that no
``</script>`` in a name ends the script.
"""

from __future__ import annotations

import json

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.5em; } h3 { font-size: 1em; margin: 1em 0 .3em; }
.bar { display: flex; height: 28px; border: 1px solid #888; background: #f4f4f4; max-width: 960px; }
.segment { height: 100%; cursor: pointer; border-right: 1px solid #fff; box-sizing: border-box; }
.segment:hover, .segment.selected { outline: 2px solid #000; }
table { border-collapse: collapse; margin: .4em 0 1em; } td, th { padding: 1px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.symbols { font-family: monospace; background: #fafafa; border: 1px solid #ddd; padding: .4em; max-width: 960px; }
.swatch { display: inline-block; width: .9em; height: .9em; margin-right: .4em; vertical-align: middle; }
"""

_SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById("polyboard-sizes").textContent);
  const root = document.getElementById("report");
  const baseline = data.baseline;  // {board id: manifest} from another revision, or null
  function oldRegion(boardId, programPath, regionName) {
    const old = baseline && baseline[boardId];
    if (!old) return null;
    for (const program of old.programs || []) {
      if (program.path !== programPath) continue;
      for (const region of program.regions || []) if (region.name === regionName) return region;
    }
    return null;
  }
  function delta(now, before) {
    const d = now - before;
    return (d > 0 ? "+" : "") + d + " B";
  }
  const colours = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
                   "#ff9da7", "#9c755f", "#bab0ac", "#8cd17d", "#86bcb6", "#d37295", "#a0cbe8"];
  const colourOf = {};
  function colour(name) {
    if (!(name in colourOf)) colourOf[name] = colours[Object.keys(colourOf).length % colours.length];
    return colourOf[name];
  }
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  for (const boardId of Object.keys(data.boards)) {
    const board = data.boards[boardId];
    const section = el("section", undefined, "board");
    section.dataset.board = boardId;
    section.appendChild(el("h2", boardId + ": " + board.board.description));
    if (board.revision) section.appendChild(el("p", "revision " + board.revision.commit));
    for (const program of board.programs) {
      const block = el("div", undefined, "program");
      block.dataset.program = program.path;
      block.appendChild(el("h3", program.path));
      const symbols = el("div", "click a part of a bar to see its largest symbols", "symbols");
      for (const region of program.regions) {
        const capacity = region.size || region.used;
        const line = el("div", undefined, "region");
        line.dataset.region = region.name;
        line.dataset.used = region.used;
        const before = baseline ? oldRegion(boardId, program.path, region.name) : null;
        const title = region.name + ": " + region.used + " B" +
          (region.size ? " of " + region.size + " B (" + region.percent.toFixed(2) + "%)" : "") +
          (before ? ", " + delta(region.used, before.used) + " since the baseline" : (baseline ? ", not in the baseline" : ""));
        if (before) line.dataset.delta = region.used - before.used;
        line.appendChild(el("div", title, "region-title"));
        const bar = el("div", undefined, "bar");
        const table = el("table");
        for (const [component, bytes] of Object.entries(region.components)) {
          const part = el("div", undefined, "segment");
          part.style.width = (capacity ? 100 * bytes / capacity : 0) + "%";
          part.style.background = colour(component);
          part.title = component + ": " + bytes + " B";
          part.dataset.component = component;
          part.dataset.bytes = bytes;
          part.addEventListener("click", function () {
            for (const other of root.querySelectorAll(".segment.selected")) other.classList.remove("selected");
            part.classList.add("selected");
            symbols.textContent = "";
            symbols.appendChild(el("div", component + " in " + program.path + ": largest symbols"));
            for (const symbol of (program.symbols[component] || [])) {
              symbols.appendChild(el("div", symbol.bytes + " B  " + symbol.name));
            }
          });
          bar.appendChild(part);
          const row = el("tr", undefined, "component-row");
          row.dataset.component = component;
          const name = el("td");
          const swatch = el("span", undefined, "swatch");
          swatch.style.background = colour(component);
          name.appendChild(swatch);
          name.appendChild(document.createTextNode(component));
          row.appendChild(name);
          row.appendChild(el("td", bytes + " B", "n bytes"));
          row.appendChild(el("td", (region.used ? (100 * bytes / region.used).toFixed(1) : "0.0") + "%", "n"));
          if (before) {
            const was = (before.components || {})[component] || 0;
            row.dataset.delta = bytes - was;
            row.appendChild(el("td", bytes === was ? "" : delta(bytes, was), "n delta"));
          }
          table.appendChild(row);
        }
        line.appendChild(bar);
        line.appendChild(table);
        block.appendChild(line);
      }
      block.appendChild(symbols);
      section.appendChild(block);
    }
    root.appendChild(section);
  }
  document.body.dataset.rendered = "yes";
})();
"""


def render(boards: dict[str, dict], title: str, baseline: dict[str, dict] | None = None) -> str:
    """The page for the board manifests *boards* (``{id: manifest}``); with *baseline* (the same
    shape, from another revision), each region and component also shows its change."""
    payload = json.dumps({"boards": boards, "baseline": baseline}, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    escaped_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escaped_title}</title><style>{_STYLE}</style></head>\n<body>\n"
            f"<h1>{escaped_title}</h1>\n<div id=\"report\"></div>\n"
            f"<script type=\"application/json\" id=\"polyboard-sizes\">{payload}</script>\n"
            f"<script>{_SCRIPT}</script>\n</body></html>\n")
