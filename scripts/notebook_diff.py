"""Compare what two executed notebooks show: markdown, text, tables and chart specs.

Usage: python scripts/notebook_diff.py BEFORE.ipynb AFTER.ipynb. Prints IDENTICAL or a
unified diff. Timings, /tmp and checkout paths, dates, Altair's and pandas Styler's random
element ids and dotted ``compendium.`` module paths are masked first, so a refactor that
changes none of what a reader sees diffs empty. stderr streams are ignored.
"""

import difflib
import json
import re
import sys

import nbformat

NOISE = [
    re.compile(p)
    for p in (
        r"\d+(\.\d+)? ?(s|ms|min|seconds)\b",
        r"/tmp/[^\s'\"]+",
        r"\d{4}-\d\d-\d\d[ T][\d:.]+",
        r"altair-viz-[0-9a-f]+",
        r"T_[0-9a-f]{5}",
        r"/work/main[^\s<\'\"]*",
        r"\bcompendium(\.[A-Za-z_]+)+",
    )
]


def texts(path):
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out.append(("md", cell.source))
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                if o.get("name") == "stderr":
                    continue
                out.append(("stream", o["text"]))
            elif "data" in o:
                d = o["data"]
                for k in ("text/markdown", "text/html", "text/plain"):
                    if k in d:
                        out.append((k, "".join(d[k]) if isinstance(d[k], list) else d[k]))
                        break
                if "application/vnd.vegalite.v5+json" in d or any("vega" in k for k in d):
                    for k in d:
                        if "vega" in k:
                            out.append((k, json.dumps(d[k], sort_keys=True)))
    norm = []
    for kind, text in out:
        for p in NOISE:
            text = p.sub("<X>", text)
        norm.append((kind, text))
    return norm


a, b = texts(sys.argv[1]), texts(sys.argv[2])
da = [f"[{k}] {t}" for k, t in a]
db = [f"[{k}] {t}" for k, t in b]
diff = list(
    difflib.unified_diff("\n".join(da).splitlines(), "\n".join(db).splitlines(), lineterm="", n=1)
)
print("\n".join(diff[:200]) if diff else "IDENTICAL")
