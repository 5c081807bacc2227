"""A long stream cut into windows of time: is the deployment as right, as fast and as lean at
the end as at the start? (``live-eval --duration 1h``, a soak.)

Per window (by when each request was due): the requests and those unanswered, live accuracy
beside the sweep's on the compared requests, differing predictions, mixed views and lost
messages (counted apart as in live_summary.csv), latency p50/p99; and per process its resident
memory and open descriptors at the window's last sample (resources.py), with its pid, so a
restart shows. ``growth`` compares each process's memory in the last window with the first
window after warm-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW_COLUMNS = [
    "window", "start_s", "end_s", "requests", "unanswered", "compared", "live_accuracy",
    "sweep_accuracy", "differing", "mixed_view", "lost_message", "latency_p50_ms",
    "latency_p99_ms",
]  # fmt: skip
GROWTH_COLUMNS = ["process", "restarted", "rss_mb_first", "rss_mb_last", "growth", "fds_first",
                  "fds_last"]  # fmt: skip


def window_table(
    judgements: pd.DataFrame,
    unanswered_ms: list[float],
    samples: pd.DataFrame,
    window_s: float,
    duration_s: float,
) -> pd.DataFrame:
    """One row per window of ``window_s`` over ``duration_s`` (the last may be shorter), with
    ``rss_mb_<process>``, ``fds_<process>`` and ``pid_<process>`` per sampled process."""
    count = max(1, int(np.ceil(duration_s / window_s - 1e-9)))
    due = judgements["sent_at_ms"].to_numpy() / 1000
    missing = np.asarray(unanswered_ms, dtype=float) / 1000
    processes = list(dict.fromkeys(samples["process"])) if len(samples) else []
    rows = []
    for w in range(count):
        start, end = w * window_s, min((w + 1) * window_s, duration_s)
        last = w == count - 1
        inside = (due >= start) & ((due < end) | last)
        group = judgements[inside]
        compared = group[group["compared"]]
        latency = group["latency_ms"].to_numpy()
        hits = compared["prediction"].to_numpy() == compared["label"].to_numpy()
        row = {
            "window": w + 1,
            "start_s": start,
            "end_s": end,
            "requests": len(group),
            "unanswered": int(np.sum((missing >= start) & ((missing < end) | last))),
            "compared": len(compared),
            "live_accuracy": float(hits.mean()) if len(compared) else float("nan"),
            "sweep_accuracy": float(compared["sweep_hit"].mean()),
            "differing": int(compared["differs"].sum()),
            "mixed_view": int(group["mixed"].sum()),
            "lost_message": int(group["lost_any"].sum()),
            "latency_p50_ms": float(np.percentile(latency, 50)) if len(group) else float("nan"),
            "latency_p99_ms": float(np.percentile(latency, 99)) if len(group) else float("nan"),
        }
        seen = samples[(samples["t_s"] <= end + 1e-9) | last] if len(samples) else samples
        for process in processes:
            mine = seen[seen["process"] == process]
            latest = mine.iloc[-1] if len(mine) else None
            row[f"rss_mb_{process}"] = float("nan") if latest is None else latest["rss_mb"]
            row[f"fds_{process}"] = -1 if latest is None else int(latest["fds"])
            row[f"pid_{process}"] = -1 if latest is None else int(latest["pid"])
        rows.append(row)
    return pd.DataFrame(rows)


def growth(windows: pd.DataFrame, warm_up: int = 1) -> pd.DataFrame:
    """Per process: resident memory in the last window against the first window after
    ``warm_up`` windows (``growth``: last / first - 1), and its descriptors. ``restarted``
    says its pid changed in between: the last figure is then a newer process's, so the growth
    is not one process's leak."""
    rows = []
    first = windows.iloc[min(warm_up, len(windows) - 1)]
    last = windows.iloc[-1]
    for column in [c for c in windows.columns if c.startswith("rss_mb_")]:
        process = column.removeprefix("rss_mb_")
        rows.append(
            {
                "process": process,
                "restarted": bool(first[f"pid_{process}"] != last[f"pid_{process}"]),
                "rss_mb_first": first[column],
                "rss_mb_last": last[column],
                "growth": last[column] / first[column] - 1,
                "fds_first": int(first[f"fds_{process}"]),
                "fds_last": int(last[f"fds_{process}"]),
            }
        )
    return pd.DataFrame(rows, columns=GROWTH_COLUMNS)
