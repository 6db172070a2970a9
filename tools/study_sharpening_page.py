"""The page of tools/study_sharpening: statistics, tables, verdicts and SVG
figures, computed from the runs kept in docs/study-data/<budget>/ (each
run's metrics.jsonl and summary.json verbatim, sharpness.json of the probe
runs, study-log.jsonl of the study's wall time). Nothing here runs fovea."""
import json
import math
import os
import statistics

COLOURS = ["#222222", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def load_run(d):
    """{'summary', 'epochs', 'sharpness'} of a finished run directory, or None."""
    if not os.path.exists(os.path.join(d, "summary.json")):
        return None
    with open(os.path.join(d, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(d, "metrics.jsonl")) as f:
        epochs = [json.loads(line) for line in f if line.strip()]
    probe = None
    if os.path.exists(os.path.join(d, "sharpness.json")):
        with open(os.path.join(d, "sharpness.json")) as f:
            probe = json.load(f)
    return {"summary": summary, "epochs": epochs, "sharpness": probe}


def load_arm(base):
    """The finished seed-<n> runs under base, in seed order."""
    if not os.path.isdir(base):
        return []
    names = sorted((n for n in os.listdir(base) if n.startswith("seed-")), key=lambda n: int(n[5:]))
    return [r for r in (load_run(os.path.join(base, n)) for n in names) if r]


def mean_std(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def pm(values, scale=100.0, digits=2):
    m, sd = mean_std(values)
    if math.isnan(m):
        return "n/a"
    return f"{m * scale:.{digits}f} ± {sd * scale:.{digits}f}"


def reach(run, target):
    """(epoch, cumulative seconds) of the first epoch with val_acc >= target, or None."""
    seconds = 0.0
    for e in run["epochs"]:
        seconds += e["seconds"]
        if e.get("val_acc") is not None and e["val_acc"] >= target:
            return e["epoch"], seconds
    return None


def run_seconds(run):
    """Training plus validation seconds of every epoch."""
    return sum(e["seconds"] for e in run["epochs"])


def corrupted(run, kind, value):
    for c in run["summary"].get("test_corrupted", []):
        if c["corruption"] == kind and abs(c["value"] - value) < 1e-9:
            return c["acc"]
    return float("nan")


def mean_corrupted(run, corruptions):
    values = [corrupted(run, k, v) for k, v in corruptions]
    return statistics.mean(values) if values and not any(math.isnan(v) for v in values) else float("nan")


def welch(a, b):
    """Difference of means b - a and its standard error."""
    ma, sa = mean_std(a)
    mb, sb = mean_std(b)
    se = math.sqrt(sa * sa / len(a) + sb * sb / len(b)) if a and b else float("nan")
    return mb - ma, se


def outcome(diff, se):
    """'helped', 'hurt' or 'no difference': beyond two standard errors or not."""
    if not (se > 0) or abs(diff / se) < 2:
        return "no difference"
    return "helped" if diff > 0 else "hurt"


def verdict(diff, se):
    if not (se > 0):
        return "cannot tell (no spread measured)"
    t = diff / se
    if outcome(diff, se) == "no difference":
        return f"no difference beyond the seed-to-seed spread ({diff * 100:+.2f} points, {t:+.1f} standard errors)"
    return f"{outcome(diff, se)} ({diff * 100:+.2f} points, {t:+.1f} standard errors)"


def label(kind, value):
    return {"blur": f"blur σ={value:g}", "noise": f"noise {value:g}", "contrast": f"contrast ×{value:g}",
            "brightness": f"brightness +{value:g}", "saltpepper": f"salt-and-pepper {value:g}",
            "translate": f"shift {value:g} px", "jpeg": f"JPEG q{value:g}"}.get(kind, f"{kind} {value:g}")


def svg_chart(panels, legend, width=460, height=300):
    """panels: [(title, series [(name, [y or None per epoch])], hlines [(y, text)])], side by side."""
    P = 50
    W = width * len(panels)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height + 60}" '
           f'font-family="sans-serif" font-size="12">', f'<rect width="{W}" height="{height + 60}" fill="white"/>']
    for panel, (title, series, hlines) in enumerate(panels):
        x0 = panel * width
        values = [y for _, ys in series for y in ys if y is not None] + [y for y, _ in hlines]
        if not values:
            continue
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.05 or 0.01
        lo, hi = lo - pad, hi + pad
        n = max(len(ys) for _, ys in series)
        sx = lambda i: x0 + P + (width - 2 * P) * (i / max(n - 1, 1))
        sy = lambda v: 20 + (height - P) * (1 - (v - lo) / (hi - lo))
        out.append(f'<text x="{x0 + width / 2}" y="14" text-anchor="middle">{title}</text>')
        out.append(f'<line x1="{x0 + P}" y1="{sy(lo)}" x2="{x0 + width - P}" y2="{sy(lo)}" stroke="#888"/>')
        out.append(f'<line x1="{x0 + P}" y1="{sy(lo)}" x2="{x0 + P}" y2="{sy(hi)}" stroke="#888"/>')
        for t in range(5):
            v = lo + (hi - lo) * t / 4
            out.append(f'<text x="{x0 + P - 4}" y="{sy(v) + 4}" text-anchor="end">{v:.3g}</text>')
        for i in range(n):
            out.append(f'<text x="{sx(i)}" y="{sy(lo) + 16}" text-anchor="middle">{i + 1}</text>')
        out.append(f'<text x="{x0 + width / 2}" y="{sy(lo) + 32}" text-anchor="middle">epoch</text>')
        for y, text in hlines:
            out.append(f'<line x1="{x0 + P}" y1="{sy(y):.1f}" x2="{x0 + width - P}" y2="{sy(y):.1f}" '
                       f'stroke="#999" stroke-dasharray="4 3"/>')
            out.append(f'<text x="{x0 + width - P}" y="{sy(y) - 3:.1f}" text-anchor="end" fill="#666">{text}</text>')
        for k, (_, ys) in enumerate(series):
            pts = " ".join(f"{sx(i):.1f},{sy(y):.1f}" for i, y in enumerate(ys) if y is not None)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{COLOURS[k % len(COLOURS)]}" stroke-width="2"/>')
    for k, name in enumerate(legend):
        x = 20 + k * (W - 40) / max(len(legend), 1)
        out.append(f'<rect x="{x}" y="{height + 38}" width="14" height="4" fill="{COLOURS[k % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 18}" y="{height + 44}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table(head, rows):
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def reach_text(runs, target):
    hit = [x for x in (reach(r, target) for r in runs) if x]
    if not hit:
        return "not reached", "not reached"
    ep, sec = pm([x[0] for x in hit], 1, 1), pm([x[1] for x in hit], 1, 0)
    if len(hit) < len(runs):
        ep += f" ({len(hit)}/{len(runs)} reached)"
        sec += f" ({len(hit)}/{len(runs)} reached)"
    return ep, sec


def paired_time(runs, base):
    """Mean ± std of the seconds ratio arm / baseline over the seeds both hold, and their count.

    Seeds run one after another, arm by arm, so a seed's runs mostly share one
    sitting on one machine; the ratio cancels a machine that is slower as a whole."""
    by_seed = {r["summary"]["seed"]: run_seconds(r) for r in base}
    ratios = [run_seconds(r) / by_seed[r["summary"]["seed"]] for r in runs if r["summary"]["seed"] in by_seed]
    m, sd = mean_std(ratios)
    return m, sd, len(ratios)


def paired_text(runs, base):
    m, sd, n = paired_time(runs, base)
    if not n:
        return "no seed in common"
    return f"same seed: x{m:.2f} ± {sd:.2f} over {n} seed{'s' if n > 1 else ''}"


def results_section(b, table_runs, corruptions, target):
    """The main table, the corruption table and the Welch verdicts of one budget."""
    goal = f"{target:.0%}"
    lines = []
    rows, crows = [], []
    for arm in b["arms"]:
        runs = table_runs[arm["name"]]
        if not runs:
            continue
        ep, sec = reach_text(runs, target)
        rows.append([f"{arm['name']}: {arm['model']}, {arm['desc']}", str(len(runs)),
                     pm([r["summary"]["test_acc"] for r in runs]),
                     pm([mean_corrupted(r, corruptions) for r in runs]), ep, sec,
                     pm([run_seconds(r) for r in runs], 1, 0),
                     pm([r["epochs"][-1]["train_loss"] for r in runs], 1, 4)])
        crows.append([arm["name"]] + [pm([corrupted(r, k, v) for r in runs]) for k, v in corruptions])
    lines += table(["arm", "seeds", "clean test accuracy %", "mean corrupted accuracy %", f"epochs to {goal} val",
                    f"seconds to {goal} val", "seconds, all epochs", "final train loss"], rows)
    lines += ["", "Test accuracy (%) under each corruption:", ""]
    lines += table(["arm"] + [label(k, v) for k, v in corruptions], crows)
    lines += ["", "Mean ± standard deviation over seeds; the mean corrupted accuracy averages the "
              f"{len(corruptions)} corrupted test sets of each run; seconds are wall-clock time on the machine "
              "as it was (other work beside the study inflates them, and the machine can change between "
              "invocations of the script; the verdicts' same-seed ratios divide each run's seconds by those of "
              "the baseline run of its seed, which mostly ran in the same sitting).", ""]
    lines += ["### Verdict", ""]
    said_any = False
    for arm in b["arms"]:
        base = table_runs.get(arm["baseline"], [])
        runs = table_runs[arm["name"]]
        if arm["name"] == arm["baseline"] or not runs or not base:
            continue
        said_any = True
        clean = welch([r["summary"]["test_acc"] for r in base], [r["summary"]["test_acc"] for r in runs])
        mean = welch([mean_corrupted(r, corruptions) for r in base], [mean_corrupted(r, corruptions) for r in runs])
        secs = (mean_std([run_seconds(r) for r in runs])[0], mean_std([run_seconds(r) for r in base])[0])
        lines.append(f"- **{arm['name']}** ({arm['desc']}) against {arm['baseline']} ({len(runs)} and {len(base)} "
                     f"seeds): clean test accuracy {verdict(*clean)}; mean corrupted accuracy {verdict(*mean)}; "
                     f"training and validation time {secs[0]:.0f} s against {secs[1]:.0f} s "
                     f"({(secs[0] / secs[1] - 1) * 100:+.0f} %; {paired_text(runs, base)}).")
        each = []
        for k, v in corruptions:
            d = welch([corrupted(r, k, v) for r in base], [corrupted(r, k, v) for r in runs])
            each.append(f"{label(k, v)}: {outcome(*d)} ({d[0] * 100:+.2f})")
        lines.append("  Each corruption: " + "; ".join(each) + ".")
    if said_any:
        lines += ["", "A difference counts only when it exceeds two standard errors of the difference of means "
                  "(Welch); anything smaller is within the seed-to-seed spread.", ""]
    else:
        lines += ["No arm has runs beside its baseline yet.", ""]
    return lines


def curves_figure(b, table_runs, svg_path, title):
    panels_v, panels_l, legend = [], [], []
    for arm in b["arms"]:
        runs = table_runs[arm["name"]]
        if not runs:
            continue
        n = min(len(r["epochs"]) for r in runs)
        va = [mean_std([r["epochs"][i].get("val_acc") for r in runs])[0] for i in range(n)]
        tl = [mean_std([r["epochs"][i]["train_loss"] for r in runs])[0] for i in range(n)]
        panels_v.append((arm["name"], [None if math.isnan(v) else v for v in va]))
        panels_l.append((arm["name"], tl))
        legend.append(arm["name"])
    if not legend:
        return []
    with open(svg_path, "w") as f:
        f.write(svg_chart([(f"{title}: validation accuracy (mean over seeds)", panels_v, []),
                           (f"{title}: training loss (mean over seeds)", panels_l, [])], legend))
    return [f"![learning curves, {title}]({os.path.basename(svg_path)})", ""]


def sharpness_section(b, probes, svg_path):
    """The table and figure of the probe runs: lambda_max per epoch, 2/lr, 2(1+beta)/lr, the Jacobian norm."""
    arms = [a for a in b["arms"] if probes.get(a["name"])]
    if not arms:
        return ["No probe runs yet (they run after the seeds of every arm).", ""]
    lr, beta = b["lr"], b["momentum"]
    edge, edge_m = 2 / lr, 2 * (1 + beta) / lr
    lines = [f"One run per arm (seed 0) with `--sharpness-every 1 --sharpness-images {b['sharpness_images']}`: "
             "after each epoch, the top eigenvalue λ_max of the Hessian of the mean cross-entropy over the "
             f"first {b['sharpness_images']} training images (file order), in evaluation mode and on the "
             "unblurred images (Lanczos; see `fovea sharpness --help`). At the end, `fovea sharpness --run DIR "
             f"--images {b['sharpness_images']}` measures the Jacobian norm (jacobian_fro: the root mean "
             "square over images of ‖∂ logits / ∂ standardised input‖_F) and the Hessian trace. "
             f"2/η = {edge:g} is the edge of stability of plain gradient descent; with momentum β = {beta:g}, "
             f"2(1+β)/η = {edge_m:g}.", ""]
    n = max(len(probes[a["name"]]["epochs"]) for a in arms)
    head = ["epoch"] + [f"{a['name']}: σ, λ_max" for a in arms] + ["2/η", "2(1+β)/η"]
    rows = []
    for i in range(n):
        row = [str(i + 1)]
        for a in arms:
            eps = probes[a["name"]]["epochs"]
            e = eps[i] if i < len(eps) else None
            row.append(f"{e['blur_sigma']:.3g}, {e['sharpness']:.4g}" if e and e.get("sharpness") is not None
                       else "n/a")
        rows.append(row + [f"{edge:g}", f"{edge_m:g}"])
    lines += table(head, rows) + [""]
    end = []
    for a in arms:
        r = probes[a["name"]]
        s = r["sharpness"] or {}
        end.append([a["name"], f"{r['summary']['test_acc'] * 100:.2f}",
                    f"{s.get('lambda_max', float('nan')):.4g}", f"{s.get('trace', float('nan')):.4g}",
                    f"{s.get('jacobian_fro', float('nan')):.4g}"])
    lines += ["At the end of each probe run (`fovea sharpness`):", ""]
    lines += table(["arm", "test accuracy %", "λ_max", "Hessian trace", "Jacobian norm"], end) + [""]
    series = [(a["name"], [e.get("sharpness") for e in probes[a["name"]]["epochs"]]) for a in arms]
    with open(svg_path, "w") as f:
        f.write(svg_chart([("top Hessian eigenvalue after each epoch", series,
                            [(edge, "2/η"), (edge_m, "2(1+β)/η")])], [a["name"] for a in arms], width=720))
    lines += [f"![top Hessian eigenvalue per epoch]({os.path.basename(svg_path)})", "",
              "One seed per arm: a trajectory, not a verdict.", ""]
    return lines


def wall_time(log_path):
    """(seconds summed over the runs' invocations, runs logged, invocations) from study-log.jsonl."""
    if not os.path.exists(log_path):
        return 0.0, 0, 0
    total, runs, invocations = 0.0, 0, set()
    with open(log_path) as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                total += e["seconds"]
                runs += 1
                invocations.add(e["invocation"])
    return total, runs, len(invocations)
