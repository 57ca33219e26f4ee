"""``bench/http_predict.py`` with wrk, a C load generator: each system at saturation (wrk's
closed loop) and, paced, below it (each connection waiting between an answer and its next request).
"""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass
from pathlib import Path

from _http_data import FEAST_PATH, FEATURES_PATH, FTI_PATH, Requests
from _http_servers import Launcher, Server, alone, stop_server, wait_ready

_WRK_LUA = """\
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local i = 0
local headers = {["Content-Type"] = "application/json"}
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%(path)s", headers, bodies[i])
end
%(delay)s
done = function(summary, latency, requests)
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%.1f\\n",
    summary.duration, summary.requests, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.min, latency.mean))
end
"""


@dataclass
class WrkResult:
    system: str
    seconds: float
    requests: int
    errors: dict[str, int]
    p50: float  # ms
    p90: float
    p99: float
    max: float
    mean: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    server: Server,
    bodies: list[str],
    args: argparse.Namespace,
    work: Path,
    seconds: float,
    path: str | None = None,
    label: str | None = None,
    delay_ms: int = 0,
) -> WrkResult:
    """wrk's closed loop; with ``delay_ms`` each connection waits that long between an answer
    and its next request (a paced load below saturation)."""
    path = path or (FTI_PATH if server.kind == "fti" else FEAST_PATH)
    body_file = work / f"wrk_{server.kind}.txt"
    body_file.write_text("\n".join(bodies) + "\n")
    script = work / f"wrk_{server.kind}.lua"
    delay = f"delay = function() return {delay_ms} end" if delay_ms else ""
    script.write_text(_WRK_LUA % {"bodies": body_file, "path": path, "delay": delay})
    argv = ["wrk", "-t1", f"-c{args.clients}", "-s", str(script), "--timeout", "30s"]
    subprocess.run([*argv, "-d1s", server.url], capture_output=True, check=True)  # warm-up
    out = subprocess.run(
        [*argv, f"-d{seconds:g}s", server.url], capture_output=True, text=True, check=True
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH "))
    v = line.split()[1:]
    errors = dict(
        zip(["non-2xx", "connect", "read", "write", "timeout"], map(int, v[2:7]), strict=True)
    )
    return WrkResult(
        label or server.name,
        int(v[0]) / 1e6,
        int(v[1]),
        {k: n for k, n in errors.items() if n},
        int(v[7]) / 1e3,
        int(v[8]) / 1e3,
        int(v[9]) / 1e3,
        int(v[10]) / 1e3,
        float(v[12]) / 1e3,
    )


def wrk_runs(
    launcher: Launcher, feast_server: Server | None, req: Requests, args: argparse.Namespace
) -> list[WrkResult]:
    """wrk against a fresh fti server (and its features-only deployment) and Feast's server,
    each alone; then fti and the last of them paced (``--paced-ms``). The fresh fti server is
    stopped at the end."""
    servers, work = launcher.servers, launcher.work
    wrk_results: list[WrkResult] = []
    wrk_fti = launcher.fti("fti", {})
    wait_ready(wrk_fti)
    runs: list[tuple[Server, list[str], str | None, str | None]] = [(wrk_fti, req.fti, None, None)]
    if args.features_only:
        runs.append((wrk_fti, req.fti, FEATURES_PATH, "fti, features only"))
    if feast_server is not None:
        runs.append((feast_server, req.feast, None, None))
    for server, bodies, path, label in runs:
        with alone(server, servers):
            wrk_results.append(run_wrk(server, bodies, args, work, args.wrk_seconds, path, label))
        w = wrk_results[-1]
        print(f"wrk {w.system}: {w.rps:,.0f} req/s, p99 {w.p99:.2f} ms", flush=True)
    if args.paced_ms:  # the same systems below saturation: latency at ~2,000 req/s
        paced = [runs[0], runs[-1]] if feast_server else runs[:1]
        for server, bodies, path, label in paced:
            name = f"{label or server.name}, paced {args.paced_ms} ms"
            with alone(server, servers):
                wrk_results.append(
                    run_wrk(server, bodies, args, work, args.wrk_seconds, path, name, args.paced_ms)
                )
            w = wrk_results[-1]
            print(f"wrk {w.system}: {w.rps:,.0f} req/s, p99 {w.p99:.2f} ms", flush=True)
    stop_server(wrk_fti)
    return wrk_results
