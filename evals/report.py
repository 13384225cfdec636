"""Render eval results (from :func:`evals.metrics.evaluate`) as Markdown and as one self-contained
HTML file with inline SVG charts: no JavaScript, no fonts or styles fetched, so it opens offline and
can be attached to a CI run as is.

Several runs can be compared: pass ``configs={"bm25": res1, "hybrid": res2}`` and a ``baseline``
name; ratios are shown against the baseline.
"""
from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.metrics import ANSWER_METRICS

MAIN_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "doc_hit@5", "doc_mrr", "prompt_hit", "evidence_hit")
GROUP_COLUMNS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "doc_hit@5", "prompt_hit", "evidence_hit", "sees_gold",
                 "answer_coverage", "citation_precision", "faithfulness", "faithfulness_proxy", "answer_relevance")
ANSWER_CHART = ("answer_coverage", "citation_precision", "faithfulness", "faithfulness_proxy", "answer_relevance")
RANK_BUCKETS = ("1", "2", "3", "4-5", "6-10", ">10", "miss")
LABELS = {"mrr": "MRR@10", "doc_mrr": "doc MRR@10", "doc_hit@5": "doc hit@5", "ndcg@10": "nDCG@10",
          "answer_contains": "contains answer", "answer_coverage": "coverage", "answer_f1": "answer F1",
          "citation_precision": "citation precision", "faithfulness": "faithfulness (judge)",
          "faithfulness_proxy": "faithfulness (proxy)", "answer_relevance": "answer relevance",
          "context_hit": "gold passage in context", "prompt_hit": "answer in prompt",
          "evidence_hit": "answer in evidence", "sees_gold": "learner sees answer"}
PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D")


# --- shared helpers -------------------------------------------------------------------------------


def _label(metric: str) -> str:
    return LABELS.get(metric, metric)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _ratio(v: Any, base: Any) -> str:
    if not isinstance(v, (int, float)) or not isinstance(base, (int, float)) or base == 0:
        return "–"
    return f"×{v / base:.2f}"


def _resolve(results: Mapping | None, configs: Mapping[str, Mapping] | None, baseline: str | None):
    configs = dict(configs or {})
    if baseline is not None and configs and baseline not in configs:
        raise KeyError(f"baseline {baseline!r} not among configs {list(configs)}")
    if baseline is None and configs:
        baseline = next(iter(configs))
    if results is None:
        if not configs:
            raise ValueError("nothing to render: pass results or configs")
        results = configs[baseline]
    return results, configs, baseline


def rank_histogram(rows: Sequence[Mapping], k: int = 10) -> dict[str, int]:
    """Counts of first-relevant ranks over answerable rows, bucketed as in RANK_BUCKETS."""
    counts = {b: 0 for b in RANK_BUCKETS}
    for r in rows:
        if r.get("unanswerable") or "rank" not in r:
            continue
        rank = r["rank"]
        if rank is None:
            counts["miss"] += 1
        elif rank <= 3:
            counts[str(rank)] += 1
        elif rank <= 5:
            counts["4-5"] += 1
        elif rank <= k:
            counts["6-10"] += 1
        else:
            counts[">10"] += 1
    return counts


def comparison_rows(configs: Mapping[str, Mapping], baseline: str, metrics: Sequence[str] = MAIN_METRICS) -> list[dict]:
    """[{"metric", "values": {config: v}, "ratios": {config: "×1.05"}}] over the overall metrics."""
    base = configs[baseline].get("overall", {})
    rows = []
    for m in metrics:
        values = {name: res.get("overall", {}).get(m) for name, res in configs.items()}
        if all(v is None for v in values.values()):
            continue
        rows.append({"metric": m, "values": values, "ratios": {n: _ratio(v, base.get(m)) for n, v in values.items()}})
    return rows


def _present(metrics: Sequence[str], block: Mapping) -> list[str]:
    return [m for m in metrics if block.get(m) is not None]


def _short_path(p: str | None) -> str:
    if not p:
        return ""
    parts = str(p).replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def _is_answer_run(results: Mapping) -> bool:
    return results.get("mode") == "answers"


def _scope(results: Mapping) -> str:
    return "for answers" if _is_answer_run(results) else "for retrieval"


def _run_line(results: Mapping) -> str:
    """Who answered, who judged, how fast (answer runs)."""
    llm, j = results.get("llm") or {}, results.get("judge")
    judge = (f"judge {j['judge']} ({j['calls']} calls, {j['failures']} metrics left empty by judge failures)"
             if j else "no judge (LLM-free faithfulness proxy)")
    return (f"answered by {llm.get('provider')} {llm.get('model')}; {judge}; median time to first token "
            f"{_fmt(results.get('first_token_ms_p50'), 0)} ms, total {_fmt(results.get('total_ms_p50'), 0)} ms; "
            "statuses " + ", ".join(f"{k} {v}" for k, v in (results.get("statuses") or {}).items()))


ANSWER_ROW_HEADER = ("id", "lang", "kind", "status", "coverage", "cit. prec.", "faith.", "relevance",
                     "first token ms", "answer")


def _answer_cells(r: Mapping, limit: int | None = 80) -> list[Any]:
    faith = r.get("faithfulness", r.get("faithfulness_proxy"))
    status = r.get("status") or ""
    if r.get("refused"):
        status += " (refused ✓)" if r.get("unanswerable") else " (refused ✗)"
    elif r.get("unanswerable") and status != "llm_error":
        status += " (answered ✗)"
    text = (r.get("answer") or "").replace("\n", " ")
    return [r.get("id"), r.get("lang"), r.get("kind"), status, _fmt(r.get("answer_coverage")),
            _fmt(r.get("citation_precision")), _fmt(faith), _fmt(r.get("answer_relevance")),
            _fmt(r.get("first_token_ms"), 0), text if limit is None else text[:limit]]


# --- Markdown -------------------------------------------------------------------------------------


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |")
    return "\n".join(out)


def _md_groups(groups: Mapping[str, Mapping], name: str) -> str:
    cols = [m for m in GROUP_COLUMNS if any(g.get(m) is not None for g in groups.values())]
    rows = [[k, g.get("n", "")] + [_fmt(g.get(m)) for m in cols] for k, g in groups.items()]
    return _md_table([name, "n", *(_label(c) for c in cols)], rows)


def _md_answers(results: Mapping, max_rows: int | None) -> list[str]:
    qrows = results.get("rows", [])
    shown = qrows if max_rows is None else qrows[:max_rows]
    lines = ["", "## Answers", "", _run_line(results) + ".",
             "", "faith. is the judge's faithfulness when a judge ran, else the LLM-free proxy.", ""]
    lines.append(_md_table(ANSWER_ROW_HEADER, [_answer_cells(r) for r in shown]))
    if len(shown) < len(qrows):
        lines.append(f"\n… {len(qrows) - len(shown)} more")
    return lines


def to_markdown(
    results: Mapping | None = None,
    configs: Mapping[str, Mapping] | None = None,
    baseline: str | None = None,
    title: str = "studybot eval",
    max_rows: int | None = None,
) -> str:
    results, configs, baseline = _resolve(results, configs, baseline)
    overall = results.get("overall", {})
    lines = [f"# {title}", ""]
    who = f"configuration **{results['name']}**, " if results.get("name") else ""
    lines.append(
        f"{who}{results.get('n_questions', len(results.get('rows', [])))} questions, "
        f"{overall.get('n', 0)} scored {_scope(results)} (unanswerable ones are excluded)."
    )
    if results.get("missing"):
        lines.append(f"\n**{len(results['missing'])} questions had no output:** {', '.join(map(str, results['missing'][:20]))}")
    lines += ["", "## Overall", ""]
    ms = _present((*MAIN_METRICS, *ANSWER_METRICS), overall)
    lines.append(_md_table(["metric", "value"], [[_label(m), _fmt(overall[m])] for m in ms]))
    if results.get("by_lang"):
        lines += ["", "## By language", "", _md_groups(results["by_lang"], "lang")]
    if results.get("by_kind"):
        lines += ["", "## By kind", "", _md_groups(results["by_kind"], "kind")]
    ref = results.get("refusal")
    if ref:
        lines += ["", "## Refusals", ""]
        lines.append(
            _md_table(
                ["refusal accuracy (unanswerable refused)", "false refusal rate (answerable refused)", "balanced"],
                [[_fmt(ref.get("accuracy")), _fmt(ref.get("false_refusal_rate")), _fmt(ref.get("balanced"))]],
            )
        )
    hist = rank_histogram(results.get("rows", []))
    if any(hist.values()):
        lines += ["", "## Rank of the first relevant passage", ""]
        lines.append(_md_table(list(hist), [list(hist.values())]))
    if len(configs) > 1:
        lines += ["", f"## Configurations (ratios vs **{baseline}**)", ""]
        names = list(configs)
        rows = [
            [_label(r["metric"])] + [f"{_fmt(r['values'][n])} ({r['ratios'][n]})" for n in names]
            for r in comparison_rows(configs, baseline)
        ]
        lines.append(_md_table(["metric", *names], rows))
    qrows = results.get("rows", [])
    if qrows and _is_answer_run(results):
        lines += _md_answers(results, max_rows)
    elif qrows:
        lines += ["", "## Questions", ""]
        shown = qrows if max_rows is None else qrows[:max_rows]
        lines.append(
            _md_table(
                ["id", "lang", "kind", "rank", "doc rank", "top hit", "question"],
                [
                    [
                        r.get("id"),
                        r.get("lang"),
                        r.get("kind"),
                        _rank_cell(r),
                        _fmt(r.get("doc_rank")) if not r.get("unanswerable") else "",
                        _short_path(r.get("top_path")),
                        (r.get("question") or "")[:80],
                    ]
                    for r in shown
                ],
            )
        )
        if len(shown) < len(qrows):
            lines.append(f"\n… {len(qrows) - len(shown)} more")
    return "\n".join(lines) + "\n"


def _rank_cell(r: Mapping) -> str:
    if r.get("unanswerable"):
        return {True: "refused ✓", False: "answered ✗"}.get(r.get("refused"), "n/a")
    if "rank" not in r:
        return ""
    return "miss" if r["rank"] is None else str(r["rank"])


# --- SVG ------------------------------------------------------------------------------------------


def _nice_ceiling(v: float) -> float:
    """Smallest of 1, 2, 4, 8 or 10 x 10^k at or above v: quarter gridlines then land on round numbers."""
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    return next(m * mag for m in (1, 2, 4, 8, 10) if m * mag >= v)


def svg_grouped_bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    ymax: float | None = 1.0,
    value_fmt: str = "{:.2f}",
    width: int = 520,
    height: int = 260,
) -> str:
    """A grouped bar chart: one cluster per group, one bar per series, value printed on each bar."""
    left, right, top, bottom = 44, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    vals = [v for _, vs in series for v in vs if v is not None]
    top_val = ymax if ymax is not None else _nice_ceiling(max(vals) if vals else 1.0)
    n_g, n_s = max(1, len(groups)), max(1, len(series))
    cluster = plot_w / n_g
    bar_w = max(4.0, min(48.0, cluster * 0.8 / n_s))
    e = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{e(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{e(title)}</text>',
    ]
    for i in range(5):  # gridlines at 0, 25, 50, 75, 100 %
        y = top + plot_h - plot_h * i / 4
        label = value_fmt.format(top_val * i / 4)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{e(label)}</text>')
    for gi, g in enumerate(groups):
        x0 = left + gi * cluster + (cluster - bar_w * n_s) / 2
        for si, (name, vs) in enumerate(series):
            v = vs[gi] if gi < len(vs) else None
            if v is None:
                continue
            h = plot_h * max(0.0, min(v, top_val)) / top_val
            x, y = x0 + si * bar_w, top + plot_h - h
            color = PALETTE[si % len(PALETTE)]
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{e(name)} · {e(str(g))}: {e(value_fmt.format(v))}</title></rect>"
            )
            out.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{e(value_fmt.format(v))}</text>')
        out.append(f'<text x="{left + gi * cluster + cluster / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{e(str(g))}</text>')
    lx = left
    for si, (name, _) in enumerate(series):  # legend along the bottom
        out.append(f'<rect x="{lx}" y="{height - 16}" width="10" height="10" fill="{PALETTE[si % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 14}" y="{height - 7}">{e(name)}</text>')
        lx += 24 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


# --- HTML -----------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.miss td{background:#fff1f0}tr.refusal td{background:#f6f6ff}.muted{color:#777}
.charts{display:flex;flex-wrap:wrap;gap:16px}
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], row_classes: Sequence[str] | None = None) -> str:
    e = html.escape
    out = ["<table><thead><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr></thead><tbody>"]
    for i, r in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{e(str(c))}</td>' if _numeric(c) else f"<td>{e(str(c))}</td>" for c in r
        )
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _numeric(c: Any) -> bool:
    s = str(c)
    return bool(s) and (s.replace(".", "", 1).replace("×", "", 1).isdigit() or s == "–")


def _html_groups(groups: Mapping[str, Mapping], name: str) -> str:
    cols = [m for m in GROUP_COLUMNS if any(g.get(m) is not None for g in groups.values())]
    rows = [[k, g.get("n", "")] + [_fmt(g.get(m)) for m in cols] for k, g in groups.items()]
    return _html_table([name, "n", *(_label(c) for c in cols)], rows)


def _lang_charts(results: Mapping, configs: Mapping[str, Mapping]) -> list[str]:
    runs = configs if configs else {results.get("name") or "run": results}
    langs = sorted({lang for r in runs.values() for lang in (r.get("by_lang") or {})})
    groups = [*langs, "all"]
    charts = []
    for metric in ("hit@5", "mrr"):
        series = []
        for name, r in runs.items():
            bl = r.get("by_lang") or {}
            series.append((name, [*(bl.get(lang, {}).get(metric) for lang in langs), r.get("overall", {}).get(metric)]))
        charts.append(svg_grouped_bars(groups, series, f"{_label(metric)} by language"))
    return charts


def _rank_chart(results: Mapping, configs: Mapping[str, Mapping]) -> str:
    runs = configs if configs else {results.get("name") or "run": results}
    series = []
    for name, r in runs.items():
        hist = rank_histogram(r.get("rows", []))
        series.append((name, [float(hist[b]) for b in RANK_BUCKETS]))
    return svg_grouped_bars(
        list(RANK_BUCKETS), series, "Rank of the first relevant passage (questions)", ymax=None, value_fmt="{:.0f}"
    )


def _answer_chart(results: Mapping) -> str:
    """Answer metrics by kind and overall, one bar per metric."""
    kinds = list((results.get("by_kind") or {}).keys())
    blocks = [*((results.get("by_kind") or {})[k] for k in kinds), results.get("overall", {})]
    metrics = [m for m in ANSWER_CHART if any(b.get(m) is not None for b in blocks)]
    series = [(_label(m), [b.get(m) for b in blocks]) for m in metrics]
    width = max(520, 90 * (len(kinds) + 1))
    return svg_grouped_bars([*kinds, "all"], series, "Answer quality by kind", width=width, height=280)


def to_html(
    results: Mapping | None = None,
    configs: Mapping[str, Mapping] | None = None,
    baseline: str | None = None,
    title: str = "studybot eval",
) -> str:
    results, configs, baseline = _resolve(results, configs, baseline)
    e = html.escape
    overall = results.get("overall", {})
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(results.get('name') or '')} · {results.get('n_questions', len(results.get('rows', [])))} questions, "
        f"{overall.get('n', 0)} scored {_scope(results)} <span class=\"muted\">(unanswerable ones are excluded)</span></p>",
    ]
    if _is_answer_run(results):
        parts.append(f"<p>{e(_run_line(results))}</p>")
    if results.get("missing"):
        parts.append(f"<p><b>{len(results['missing'])} questions had no output.</b></p>")
    if _is_answer_run(results):
        parts.append('<div class="charts">' + _answer_chart(results) + "</div>")
    else:
        parts.append('<div class="charts">' + "".join(_lang_charts(results, configs)) + _rank_chart(results, configs) + "</div>")
    if len(configs) > 1:
        names = list(configs)
        rows = [
            [_label(r["metric"])] + [x for n in names for x in (_fmt(r["values"][n]), r["ratios"][n])]
            for r in comparison_rows(configs, baseline)
        ]
        header = ["metric"] + [x for n in names for x in (n, f"{n} / {baseline}")]
        parts += [f"<h2>Configurations (ratios vs {e(baseline)})</h2>", _html_table(header, rows)]
    ms = _present((*MAIN_METRICS, *ANSWER_METRICS), overall)
    parts += ["<h2>Overall</h2>", _html_table(["metric", "value"], [[_label(m), _fmt(overall[m])] for m in ms])]
    if results.get("by_lang"):
        parts += ["<h2>By language</h2>", _html_groups(results["by_lang"], "lang")]
    if results.get("by_kind"):
        parts += ["<h2>By kind</h2>", _html_groups(results["by_kind"], "kind")]
    ref = results.get("refusal")
    if ref:
        parts += [
            "<h2>Refusals</h2>",
            _html_table(
                ["refusal accuracy", "false refusal rate", "balanced", "unanswerable", "answerable"],
                [[_fmt(ref.get("accuracy")), _fmt(ref.get("false_refusal_rate")), _fmt(ref.get("balanced")),
                  ref.get("n_unanswerable"), ref.get("n_answerable")]],
            ),
        ]
    qrows = results.get("rows", [])
    if qrows and _is_answer_run(results):
        classes = ["refusal" if r.get("unanswerable") else ("miss" if not r.get("answer_contains") else "") for r in qrows]
        parts += ["<h2>Answers</h2>",
                  "<p class=\"muted\">faith. is the judge's faithfulness when a judge ran, else the LLM-free proxy.</p>",
                  _html_table(ANSWER_ROW_HEADER, [_answer_cells(r, None) for r in qrows], classes)]
    elif qrows:
        classes = [
            "refusal" if r.get("unanswerable") else ("miss" if "rank" in r and r["rank"] is None else "")
            for r in qrows
        ]
        parts += [
            "<h2>Questions</h2>",
            _html_table(
                ["id", "lang", "kind", "rank", "doc rank", "top hit", "question"],
                [
                    [r.get("id"), r.get("lang"), r.get("kind"), _rank_cell(r),
                     _fmt(r.get("doc_rank")) if not r.get("unanswerable") else "",
                     _short_path(r.get("top_path")), r.get("question") or ""]
                    for r in qrows
                ],
                classes,
            ),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    out_dir: str | Path,
    results: Mapping | None = None,
    configs: Mapping[str, Mapping] | None = None,
    baseline: str | None = None,
    title: str = "studybot eval",
    stem: str = "report",
) -> dict[str, Path]:
    """Write ``<stem>.md`` and ``<stem>.html`` under ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / f"{stem}.md", out / f"{stem}.html"
    md.write_text(to_markdown(results, configs, baseline, title), encoding="utf-8")
    page.write_text(to_html(results, configs, baseline, title), encoding="utf-8")
    return {"markdown": md, "html": page}
