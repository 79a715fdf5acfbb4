"""A picture of the Network Activity dashboard for README: its panels as the tests' model of Splunk computes them
over the test corpus, drawn as a static page in Splunk's light dashboard style and screenshotted in Chromium.

    .venv/bin/python bench/network_activity_picture.py [out.png]      (default docs/network-activity.png)

Not Splunk Web: every corpus flow record setup's formats hold goes through the shipped index-time and search-time
configuration (tests/helpers/vpcflow_events.py), default/data/ui/views/network_activity.xml's three base searches
run over those events with the inputs at their defaults and no time range (tests/helpers/spl_run.py), and each
panel's post-process runs over its base search's results. Singles show the last hour bucket and a sparkline,
charts their series per hour (only the hours that have records), tables their first rows.
"""

from __future__ import annotations

import html
import re
import shutil
import struct
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / p) for p in ("package", "tests", "tests/standins", "tests/helpers", "tests/content")]

from spl_run import run, with_defaults  # noqa: E402
from vpcflow_events import corpus_events  # noqa: E402

VIEW = ROOT / "default" / "data" / "ui" / "views" / "network_activity.xml"
OUT = ROOT / "docs" / "network-activity.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH = 1280
# Splunk's categorical palette (the first colours of its default series colours) and the view's own colours.
PALETTE = ["#1e93c6", "#f2b827", "#d6563c", "#6a5c9e", "#31a35f", "#ed8440", "#3863a0", "#a2cc3e"]


def number(text: str) -> str:
    value = float(text)
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= size * 10:
            return f"{value / size:.1f}{unit}"
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 10 else f"{value:,.2f}"


def hour(row: dict) -> str:
    return datetime.fromtimestamp(int(row["_time"][0]), UTC).strftime("%Y-%m-%d %H:00")


def single(title: str, rows: list[dict], field: str, under: str) -> str:
    """Splunk's single value over a timechart: the last bucket's value, a sparkline of all of them."""
    values = [float((r.get(field) or ["0"])[0]) for r in rows]
    last = values[-1] if values else 0
    under = f"{under} ({hour(rows[-1])} UTC)" if rows else under
    top = max(values, default=0) or 1
    points = " ".join(f"{i * 200 / max(len(values) - 1, 1):.1f},{38 - v / top * 34:.1f}" for i, v in enumerate(values))
    return (f'<div class="panel single"><h3>{html.escape(title)}</h3><div class="big">{number(str(last))}</div>'
            f'<div class="under">{html.escape(under)}</div>'
            f'<svg viewBox="0 0 200 40" class="spark"><polyline points="{points}"/></svg></div>')  # fmt: skip


def columns(title: str, rows: list[dict], fields: list[str], colours: dict[str, str]) -> str:
    """A stacked column chart, one column per hour bucket that has records (the view's area chart is drawn
    this way too: the buckets are years apart)."""
    width, height, left, bottom = 560, 220, 48, 52
    totals = [sum(float((r.get(f) or ["0"])[0]) for f in fields) for r in rows]
    top = max(totals, default=0) or 1
    step = (width - left - 60) / max(len(rows), 1)
    bars, labels = [], []
    for i, row in enumerate(rows):
        y = height - bottom
        for field in fields:
            value = float((row.get(field) or ["0"])[0])
            h = value / top * (height - bottom - 12)
            if h > 0:
                x = left + i * step + step * 0.15
                bars.append(f'<rect x="{x:.1f}" y="{y - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                            f'fill="{colours[field]}"><title>{field}: {value:g}</title></rect>')  # fmt: skip
                y -= h
        x = left + i * step + step / 2
        labels.append(f'<text x="{x:.1f}" y="{height - bottom + 10}" transform="rotate(35 {x:.1f} '
                      f'{height - bottom + 10})" class="tick">{hour(row)}</text>')  # fmt: skip
    axis = "".join(f'<line x1="{left}" x2="{width - 10}" y1="{height - bottom - f * (height - bottom - 12):.1f}" '
                   f'y2="{height - bottom - f * (height - bottom - 12):.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{height - bottom - f * (height - bottom - 12) + 4:.1f}" class="ytick">'
                   f'{number(str(top * f))}</text>' for f in (0, 0.5, 1))  # fmt: skip
    legend = "".join(f'<span><i style="background:{colours[f]}"></i>{f}</span>' for f in fields)
    return (f'<div class="panel"><h3>{html.escape(title)}</h3><svg viewBox="0 0 {width} {height}" class="chart">'
            f'{axis}{"".join(bars)}{"".join(labels)}</svg><div class="legend">{legend}</div></div>')  # fmt: skip


def table(title: str, rows: list[dict], count: int) -> str:
    names = list(dict.fromkeys(name for row in rows for name in row))
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    numeric = {n for n in names if all(re.fullmatch(r"-?\d+(\.\d+)?", v) for r in rows for v in r.get(n, []))}
    body = "".join("<tr>" + "".join(
        f'<td class="{"num" if n in numeric else ""}">{html.escape(", ".join(r.get(n, [])))}</td>' for n in names)
        + "</tr>" for r in rows[:count])  # fmt: skip
    more = f'<div class="under">{len(rows)} rows, first {count} shown</div>' if len(rows) > count else ""
    return f'<div class="panel"><h3>{html.escape(title)}</h3><table><tr>{head}</tr>{body}</table>{more}</div>'


def inputs_row(root: ET.Element) -> str:
    items = []
    for element in root.iter("input"):
        label = html.escape(element.findtext("label") or "")
        if element.get("type") == "time":
            value = "All time (the corpus spans 2014-2025)"
        elif element.get("type") == "dropdown":
            default = element.findtext("default") or ""
            value = next((c.text for c in element.iter("choice") if (c.get("value") or "") == default), default)
        else:
            value = element.findtext("default") or ""
        items.append(f'<label>{label}<span class="box">{html.escape(value)}</span></label>')
    return f'<div class="inputs">{"".join(items)}</div>'


def view() -> ET.Element:
    return ET.parse(VIEW).getroot()  # noqa: S314 (the app's own view)


def page(events: list[dict]) -> str:
    root = view()
    bases = {s.get("id"): run(with_defaults(s.findtext("query"), root), events)
             for s in root.iter("search") if s.get("id")}  # fmt: skip
    rows_html = []
    for row in root.findall("row"):
        panels = []
        for panel in row.findall("panel"):
            (element,) = [e for e in panel if e.tag in ("single", "chart", "table")]
            search = element.find("search")
            results = run(search.findtext("query"), [dict(r) for r in bases[search.get("base")]])
            title = element.findtext("title") or ""
            options = {o.get("name"): o.text or "" for o in element.findall("option")}
            fields = search.findtext("query").split("|")[0].split()[1:] if element.tag != "table" else []
            if element.tag == "single":
                panels.append(single(title, results, fields[-1], options.get("underLabel", "")))
            elif element.tag == "chart":
                series = [f for f in fields if f != "_time"]
                fixed = dict(re.findall(r'"(\w+)":0x(\w{6})', options.get("charting.fieldColors", "")))
                colours = {f: f"#{fixed[f]}" if f in fixed else PALETTE[i % len(PALETTE)] for i, f in enumerate(series)}
                panels.append(columns(title, results, series, colours))
            else:
                panels.append(table(title, results, int(options.get("count", "10"))))
        rows_html.append(f'<div class="row n{len(panels)}">{"".join(panels)}</div>')
    records = len(events)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>{STYLE}</style></head><body>
<div class="bar"><b>splunk&gt;</b><span>Apps</span><span>CloudTrail via Firehose</span></div>
<div class="appbar"><span>User Activity</span><span class="on">Network Activity</span><span>Pipeline Health</span>
<span>Search</span><span class="note">drawn from the tests' model of Splunk over {records} corpus flow records, not
Splunk Web</span></div>
<div class="dash"><h1>{html.escape(root.findtext("label"))}</h1>
<p class="desc">{html.escape(root.findtext("description"))}</p>
{inputs_row(root)}{"".join(rows_html)}</div></body></html>"""


STYLE = """
body{margin:0;font-family:"Splunk Platform Sans","Helvetica Neue",Arial,sans-serif;background:#eef0f2;color:#3c444d;
font-size:12px}
.bar{background:#1a1c20;color:#fff;padding:8px 16px;display:flex;gap:22px;font-size:13px}.bar b{color:#65a637}
.appbar{background:#fff;border-bottom:1px solid #c3cbd4;padding:9px 16px;display:flex;gap:20px;font-size:13px}
.appbar .on{border-bottom:3px solid #5cc05c;padding-bottom:6px;font-weight:600}
.appbar .note{margin-left:auto;color:#c84535;font-style:italic}
.dash{padding:10px 16px 20px}h1{font-size:22px;font-weight:400;margin:6px 0}
.desc{margin:0 0 10px;max-width:1150px;color:#5c6773;line-height:1.35}
.inputs{display:flex;gap:14px;flex-wrap:wrap;margin-bottom:10px}
.inputs label{display:flex;flex-direction:column;gap:3px;font-size:11px}
.inputs .box{background:#fff;border:1px solid #c3cbd4;border-radius:3px;padding:5px 8px;min-width:120px;
font-size:12px}
.row{display:flex;gap:8px;margin-bottom:8px}.row>.panel{flex:1;min-width:0}
.panel{background:#fff;border:1px solid #d6dbe0;padding:8px 10px;overflow:hidden}
h3{margin:0 0 6px;font-size:13px;font-weight:600}
.single{text-align:center}.big{font-size:38px;color:#1e93c6;margin:4px 0}.under{color:#5c6773;font-size:11px}
.spark{width:100%;height:34px}.spark polyline{fill:none;stroke:#5c6773;stroke-width:1.5}
.chart{width:100%;height:auto}.grid{stroke:#e1e6eb}.tick{font-size:9px;fill:#5c6773}
.ytick{font-size:9px;fill:#5c6773;text-anchor:end}
.legend{display:flex;gap:12px;flex-wrap:wrap;font-size:11px}.legend i{display:inline-block;width:10px;
height:10px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:11px;table-layout:fixed}th{text-align:left;background:#f2f4f5;
border-bottom:1px solid #c3cbd4;padding:4px 5px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
td{padding:3px 5px;border-bottom:1px solid #eceff1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
td.num{text-align:right}
"""


def screenshot(document: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network_activity.html"
        path.write_text(document, encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])  # fmt: skip
            tab = browser.new_page(viewport={"width": WIDTH, "height": 800})
            tab.goto(path.as_uri())
            tab.screenshot(path=str(out), full_page=True)
            browser.close()


def png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, RGB rows) of an 8-bit RGB PNG (Chromium's screenshots): the PNG specification's
    chunks, zlib stream and five scanline filters undone."""
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour) != (8, 2):
                raise ValueError(f"not an 8-bit RGB PNG (depth {depth}, colour type {colour})")
        elif kind == b"IDAT":
            idat += body
    raw, stride, rows = zlib.decompress(idat), width * 3, []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = previous[i], previous[i - 3] if i >= 3 else 0
            if kind == 4:
                p = a + b - c
                a = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
            line[i] = (line[i] + (0, a, b, (a + b) // 2, a)[kind]) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def shrink(path: Path, keep: list[str]) -> None:
    """Rewrite a screenshot as a 256-colour PNG (the page's flat colours, the charts' series colours kept; the
    few remaining anti-aliasing shades take the nearest of them): about a third of Chromium's file."""
    width, height, rows = png_rows(path.read_bytes())
    counts = Counter(row[i : i + 3] for row in rows for i in range(0, len(row), 3))
    palette = list(dict.fromkeys([bytes.fromhex(k.lstrip("#")) for k in keep] + [c for c, _ in counts.most_common()]))
    palette = palette[:256]
    index = {colour: i for i, colour in enumerate(palette)}
    for colour in counts:
        if colour not in index:
            index[colour] = min(range(len(palette)),
                                key=lambda i, c=colour: sum((x - y) ** 2 for x, y in zip(c, palette[i])))  # fmt: skip
    pixels = b"".join(b"\0" + bytes(index[row[i : i + 3]] for i in range(0, len(row), 3)) for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
                     + chunk(b"PLTE", b"".join(palette)) + chunk(b"IDAT", zlib.compress(pixels, 9))
                     + chunk(b"IEND", b""))  # fmt: skip


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    started = time.perf_counter()
    events = corpus_events()
    document = page(events)
    computed = time.perf_counter()
    screenshot(document, out)
    fixed = [f"#{c}" for o in view().iter("option") if o.get("name") == "charting.fieldColors"
             for c in re.findall(r"0x(\w{6})", o.text or "")]  # fmt: skip
    shrink(out, fixed + PALETTE)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB): {len(events)} flow records through the model in "
          f"{computed - started:.1f} s, screenshot in {time.perf_counter() - computed:.1f} s")


if __name__ == "__main__":
    main()
