"""Report output formats: an aligned text table, CSV, Excel (xlsx) and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, BinaryIO

from sinks.reports import Report

FORMATS = ("table", "csv", "xlsx", "json")


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        records = [dict(zip(report.columns, row)) for row in report.rows]
        if report.title == "Summary":
            return json.dumps(records[0], default=str)
        return json.dumps(records, default=str, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(report.columns)
        writer.writerows(report.rows)
        return buf.getvalue()
    if fmt == "table":
        return _table(report)
    raise ValueError(f"format {fmt!r} renders to a file: use --output")


def file_text(report: Report, fmt: str) -> str:
    """A text format as `bounceflow report` writes it to a file or prints it (and the pages
    download it): CSV rows end in CRLF, but the last line in one newline, not an empty row."""
    return render(report, fmt).rstrip("\r\n") + "\n"


def write_xlsx(report: Report, path: Path | BinaryIO) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = report.title[:31]
    ws.append(report.columns)
    for row in report.rows:
        ws.append([_cell(v) for v in row])
    wb.save(path)


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def _table(report: Report) -> str:
    if report.title == "Summary":
        width = max(len(c) for c in report.columns)
        lines = [report.title]
        lines += [f"  {c.ljust(width)}  {v}" for c, v in zip(report.columns, report.rows[0])]
        return "\n".join(lines)
    cells = [report.columns] + [[str(v) for v in row] for row in report.rows]
    widths = [min(max(len(r[i]) for r in cells), 100) for i in range(len(report.columns))]
    out = [report.title]
    for n, row in enumerate(cells):
        out.append("  ".join(v[:100].ljust(w) for v, w in zip(row, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    if not report.rows:
        out.append("(no rows)")
    return "\n".join(out)
