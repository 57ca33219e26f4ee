"""``bench/http_predict.py --profile N``: py-spy, a sampling profiler, on one fti worker under the
same load as the timed runs; the report's tables of functions, own and inclusive.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from _http_load import run_client
from _http_servers import BIN, Server


def profile_worker(
    server: Server, bodies: list[str], args: argparse.Namespace, work: Path, ids: list[str]
) -> list[str]:
    """py-spy (sampling, no instrumentation) of one fti worker under the same load, twice: the
    threads on CPU (native code such as XGBoost or a Delta commit included, idle waits left out
    as far as py-spy can tell), then only the thread holding the GIL (the Python work)."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists():
        return ["py-spy not installed: no profile (pip install py-spy)"]
    lines: list[str] = []
    rate = 250
    for mode, flags in (("on CPU", []), ("holding the GIL", ["--gil"])):
        raw = work / "py-spy.txt"
        raw.unlink(missing_ok=True)
        seconds = int(args.profile)
        outs: list[dict[str, Any]] = []
        client = threading.Thread(
            target=lambda o=outs, n=seconds: o.append(
                run_client(server.url, "fti", bodies, args, work, n + 4, 0.0)
            )
        )
        client.start()
        # the connections may all sit on one worker: profile the busiest one
        time.sleep(2.0)
        before = server.worker_cpu()
        time.sleep(1.0)
        after = server.worker_cpu()
        pid = max(after, key=lambda p: after[p] - before.get(p, 0.0))
        busy = after[pid] - before.get(pid, 0.0)
        proc = subprocess.run(
            [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate",
             str(rate), "--format", "raw", "--output", str(raw), "--nonblocking", *flags],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=seconds + 60,
        )  # fmt: skip
        err = proc.stderr
        client.join()
        ids += outs[0]["ids"] if outs else []  # these requests are in the inference log too
        if not raw.exists():
            return [f"py-spy failed: {err.strip()[-500:]}"]
        own: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = [_frame(f) for f in stack.split(";")]
            own[frames[-1]] += n
            for f in set(frames):
                inclusive[f] += n
        total = max(total, 1)
        lines += [
            f"py-spy of the busiest fti worker (pid {pid}, {busy:.2f} cores just before), "
            f"{seconds:g} s under the same load, threads {mode}: {total:,} samples at {rate}/s "
            f"({total / (rate * seconds):.0%} of the samples one busy thread would give)",
            "",
            "| own | inclusive | function |",
            "|---:|---:|---|",
        ]
        for name, n in own.most_common(args.profile_top):
            lines.append(f"| {n / total:.1%} | {inclusive[name] / total:.1%} | `{name}` |")
        lines += ["", "Inclusive:", "", "| inclusive | function |", "|---:|---|"]
        for name, n in inclusive.most_common(args.profile_top * 2):
            lines.append(f"| {n / total:.1%} | `{name}` |")
        lines.append("")
    return lines


def _frame(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``: functions, not lines."""
    m = re.match(r"(.*) \((.*?):?(\d+)?\)$", frame)
    if not m:
        return frame
    return f"{m.group(1)} ({Path(m.group(2)).name})"
