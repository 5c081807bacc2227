"""Write configs/data/activities.csv: the small table configs/own_data_csv.yaml runs on.

Why generated: the repository ships no third-party data, and a user's first own-data run needs
a file that exists. Each row is one second of a made-up body sensor: 12 numeric features
(3 accelerometer axes and 3 gyroscope axes, at the chest and the wrist) and an activity
label as text, so the run shows the label mapping. Four activities, 375 rows each, drawn from
overlapping Gaussians (seed 7), so no model reaches 100 %. Run it again to get the same bytes:

    python scripts/make_own_data_csv.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent.parent / "configs" / "data" / "activities.csv"
ACTIVITIES = ("climb", "run", "sit", "walk")
ROWS_PER_ACTIVITY = 375
COLUMNS = [
    f"{place}_{sensor}_{axis}"
    for place in ("chest", "wrist")
    for sensor in ("acc", "gyro")
    for axis in "xyz"
]


def main() -> None:
    rng = np.random.default_rng(7)
    centres = rng.normal(0.0, 1.0, size=(len(ACTIVITIES), len(COLUMNS)))
    frames = []
    for index, activity in enumerate(ACTIVITIES):
        values = centres[index] + rng.normal(0.0, 1.6, size=(ROWS_PER_ACTIVITY, len(COLUMNS)))
        frame = pd.DataFrame(np.round(values, 3), columns=COLUMNS)
        frame["activity"] = activity
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=7)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {OUT} ({len(table)} rows)")


if __name__ == "__main__":
    main()
