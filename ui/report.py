"""One-page report of an answer with its provenance, as Markdown and as self-contained HTML.

The Markdown refers to artifacts by file name (they sit next to it in a download); the HTML inlines
downscaled images as data URIs so the single file can be mailed or printed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Answer = Mapping[str, Any]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _scenes(fig: Mapping[str, Any]) -> str:
    pairs = zip(fig.get("item_ids", []), fig.get("dates", []), strict=False)
    return ", ".join(f"{i} ({str(d or 'date ?')[:10]})" for i, d in pairs) or "—"


def _strip_sources(text: str) -> str:
    # The answer may already end with a "Sources" block; the report has its own, fuller table.
    return re.split(r"\n\n\*\*(Sources and method|Sources et méthode)\*\*", text, maxsplit=1)[0].strip()


def figure_rows(answer: Answer) -> list[list[str]]:
    """One row per figure: name, value, unit, uncertainty, tool and method, scenes with dates, CRS, pixel size."""
    rows = []
    for fig in answer.get("figures", []):
        px = fig.get("pixel_size_m")
        rows.append(
            [
                str(fig.get("name", "")),
                _fmt(fig.get("value", "")),
                str(fig.get("unit", "")),
                str(fig.get("uncertainty") or ""),
                f"{fig.get('tool', '')}: {fig.get('method', '')}",
                _scenes(fig),
                str(fig.get("crs") or "n/a"),
                f"{px:.2f} m" if isinstance(px, int | float) else "n/a",
            ]
        )
    return rows


FIGURE_HEADERS = ["Figure", "Value", "Unit", "Uncertainty", "Tool and method", "Scenes (dates)", "CRS", "Pixel"]


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _provenance_lines(answer: Answer) -> list[str]:
    lines = []
    for prov in answer.get("provenance", []):
        scenes = ", ".join(
            f"{s.get('item_id')} ({str(s.get('datetime') or 'date ?')[:10]}"
            + (f", {s['collection']}" if s.get("collection") else "")
            + (f", {s['gsd_m']:g} m" if isinstance(s.get("gsd_m"), int | float) else "")
            + ")"
            for s in prov.get("scenes", [])
        )
        params = json.dumps(prov.get("parameters", {}), ensure_ascii=False, default=str, sort_keys=True)
        lines.append(
            f"- **{prov.get('tool', '?')}** — {prov.get('method', '')}; scenes: {scenes or '—'}; "
            f"CRS {prov.get('crs') or 'n/a'}; sources: {', '.join(prov.get('sources', [])) or 'n/a'}; "
            f"parameters: `{params[:300]}`"
        )
    return lines


def report_markdown(answer: Answer) -> str:
    """The report as Markdown: question, answer, figures with provenance, evidence, notes and tool trace."""
    fr = answer.get("language") == "fr"
    lines = [
        "# GeoVigie — " + ("rapport" if fr else "report"),
        "",
        f"**Question:** {answer.get('question', '')}",
        "",
        f"Thread `{answer.get('thread_id', '')}` · status **{answer.get('status', '')}** · "
        f"planner {answer.get('planner') or 'n/a'}",
        "",
        "## " + ("Réponse" if fr else "Answer"),
        "",
        _strip_sources(str(answer.get("text", ""))),
    ]
    if answer.get("figures"):
        lines += ["", "## " + ("Chiffres et provenance" if fr else "Figures and provenance"), ""]
        lines += _md_table(FIGURE_HEADERS, figure_rows(answer))
    if answer.get("notes"):
        lines += ["", "## " + ("Remarques" if fr else "Notes"), ""] + [f"- {n}" for n in answer["notes"]]
    if answer.get("artifacts"):
        lines += ["", "## " + ("Pièces" if fr else "Evidence files"), ""]
        for art in answer["artifacts"]:
            bbox = art.get("bbox")
            where = f"; bbox {', '.join(f'{v:.4f}' for v in bbox)}" if bbox else ""
            lines.append(f"- `{art.get('id')}` — {art.get('title', '')} ({art.get('kind')}, {art.get('role')}{where})")
    if answer.get("provenance"):
        lines += ["", "## " + ("Méthodes" if fr else "Methods"), ""] + _provenance_lines(answer)
    if answer.get("trace"):
        lines += ["", "## " + ("Étapes" if fr else "Tool steps"), ""]
        rows = [
            [
                s.get("tool", ""),
                "ok" if s.get("ok") else "failed",
                f"{s.get('duration_s', 0):.1f} s",
                s.get("summary", ""),
            ]
            for s in answer["trace"]
        ]
        lines += _md_table(["Tool", "Result", "Time", "Summary"], rows)
    return "\n".join(lines) + "\n"


def _inline_md(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _text_html(text: str) -> str:
    """Just enough Markdown for answers: paragraphs, bullet lists, bold and code."""
    out, in_list = [], False
    for block in text.split("\n"):
        line = block.strip()
        if line.startswith(("- ", "* ")):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_inline_md(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line:
            out.append(f"<p>{_inline_md(line)}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def image_data_uri(path: str | Path, *, max_px: int = 900) -> str | None:
    """A downscaled data URI of an image file (JPEG when opaque, PNG with transparency), or None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.thumbnail((max_px, max_px))
            buf = io.BytesIO()
            if img.mode in ("RGBA", "LA", "P"):
                img.convert("RGBA").save(buf, format="PNG")
                media = "image/png"
            else:
                # Imagery compresses ~10x better as JPEG; the report is a summary, not the evidence file.
                img.convert("RGB").save(buf, format="JPEG", quality=82)
                media = "image/jpeg"
    except OSError:
        return None
    return f"data:{media};base64," + base64.b64encode(buf.getvalue()).decode()


_HTML_CSS = """
body {font: 14px/1.45 system-ui, sans-serif; max-width: 1000px; margin: 1.5em auto; color: #1b1f24; padding: 0 1em;}
h1 {font-size: 1.4em; margin-bottom: .2em;} h2 {font-size: 1.1em; border-bottom: 1px solid #ccd; margin-top: 1.4em;}
table {border-collapse: collapse; width: 100%; font-size: 12px;} td, th {border: 1px solid #ccd; padding: 3px 5px;}
th {background: #eef1f4; text-align: left;} .meta {color: #555;}
figure {display: inline-block; margin: 4px; width: 48%;}
figure img {width: 100%; border: 1px solid #ccd;} figcaption {font-size: 12px; color: #444;}
@media print {body {margin: 0;} figure {width: 45%;}}
"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(answer: Answer, *, static_map: str | Path | None = None) -> str:
    """The report as one self-contained HTML page (images inlined, downscaled)."""
    fr = answer.get("language") == "fr"
    parts = [
        f"<h1>GeoVigie — {'rapport' if fr else 'report'}</h1>",
        f"<p><strong>Question:</strong> {html.escape(str(answer.get('question', '')))}</p>",
        f"<p class='meta'>Thread {html.escape(str(answer.get('thread_id', '')))} · status "
        f"{html.escape(str(answer.get('status', '')))} · "
        f"planner {html.escape(str(answer.get('planner') or 'n/a'))}</p>",
        f"<h2>{'Réponse' if fr else 'Answer'}</h2>",
        _text_html(_strip_sources(str(answer.get("text", "")))),
    ]
    if answer.get("figures"):
        parts += [f"<h2>{'Chiffres et provenance' if fr else 'Figures and provenance'}</h2>"]
        parts += [_html_table(FIGURE_HEADERS, figure_rows(answer))]
    if answer.get("notes"):
        parts += [f"<h2>{'Remarques' if fr else 'Notes'}</h2><ul>"]
        parts += [f"<li>{html.escape(str(n))}</li>" for n in answer["notes"]] + ["</ul>"]
    figures = []
    if static_map:
        uri = image_data_uri(static_map)
        if uri:
            figures.append(
                f"<figure><img alt='map' src='{uri}'><figcaption>{'Carte' if fr else 'Map'}</figcaption></figure>"
            )
    for art in answer.get("artifacts", []):
        if art.get("kind") == "png" and (uri := image_data_uri(art.get("path", ""))):
            title = html.escape(str(art.get("title") or art.get("role") or ""))
            figures.append(f"<figure><img alt='{title}' src='{uri}'><figcaption>{title}</figcaption></figure>")
    if figures:
        parts += [f"<h2>{'Images' if fr else 'Evidence'}</h2>", "".join(figures)]
    if answer.get("provenance"):
        parts += [f"<h2>{'Méthodes' if fr else 'Methods'}</h2><ul>"]
        parts += [f"<li>{_inline_md(line[2:])}</li>" for line in _provenance_lines(answer)] + ["</ul>"]
    if answer.get("trace"):
        rows = [
            [
                s.get("tool", ""),
                "ok" if s.get("ok") else "failed",
                f"{s.get('duration_s', 0):.1f} s",
                s.get("summary", ""),
            ]
            for s in answer["trace"]
        ]
        parts += [
            f"<h2>{'Étapes' if fr else 'Tool steps'}</h2>",
            _html_table(["Tool", "Result", "Time", "Summary"], rows),
        ]
    title = html.escape(str(answer.get("question", "GeoVigie report"))[:80])
    return (
        f"<!doctype html><html lang='{'fr' if fr else 'en'}'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_HTML_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


def write_reports(answer: Answer, out_dir: Path, *, static_map: Path | None = None) -> tuple[Path, Path]:
    """Write the Markdown and HTML reports of an answer; returns their paths (names carry a content hash)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = report_markdown(answer)
    page = report_html(answer, static_map=static_map)
    digest = hashlib.sha256(md.encode()).hexdigest()[:10]
    stem = f"geovigie-report-{str(answer.get('thread_id', 'thread'))[:8]}-{digest}"
    md_path, html_path = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    md_path.write_text(md, encoding="utf-8")
    html_path.write_text(page, encoding="utf-8")
    return md_path, html_path
