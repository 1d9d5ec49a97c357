"""Process and machine probes shared by the Kafka benchmarks: children, CPU, RSS, load, percentiles, py-spy.

Benchmarks, not tests (see BENCHMARKS.md); used by kafka_bench.py and soak_bench.py, run as scripts
from the repository root, so this module is imported by its plain name.
"""

from __future__ import annotations

import math
import os
import platform
import re
import signal
import subprocess
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


# --- subprocesses -----------------------------------------------------------------------------

class Processes:
    """Every child this script starts; all stopped on exit, failure or signal."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.running.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen[bytes]] | None = None, sig: int = signal.SIGTERM,
             grace_s: float = 20.0) -> None:
        targets = [p for p in (self.running if procs is None else procs) if p.poll() is None]
        for proc in targets:
            with suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
        deadline = time.monotonic() + grace_s
        for proc in targets:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in targets:  # anything the child left in its group
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.running = [p for p in self.running if p.poll() is None]



PROCS = Processes()


def on_signal(signum: int, frame: Any) -> None:
    """SIGTERM/SIGHUP handler: as Ctrl-C, so asyncio.run cancels the running phase and the
    finally blocks stop the workers."""
    signal.raise_signal(signal.SIGINT)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the given processes (0 for one that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def broker_pid() -> int | None:
    """The local test broker's pid (ops/kafka/broker.sh's pid file), to count its CPU too."""
    pid_file = Path(os.environ.get("TREASURY_KAFKA_DATA", "/tmp/treasury-kafka")) / "broker.pid"
    with suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        if b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None



def rss_kib(pid: int) -> int | None:
    """Resident set size of a process (VmRSS from /proc/<pid>/status) in KiB, None once it is gone."""
    with suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)



# --- statistics ---------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]



# --- profile summary ------------------------------------------------------------------------------

# Where a sample goes: the first rule whose marker appears anywhere in its stack.
_CATEGORIES = (
    ("logging (debug records built, then dropped)", ("logging/__init__",)),
    ("table writes: PinnedTable → faust changelog send", ("PinnedTable.__setitem__", "PinnedTable.__delitem__")),
    ("outputs: encode + faust Topic.send (TreasuryApp._emit)", ("TreasuryApp._emit",)),
    ("balances and chain rows published (Publisher.send)", ("Publisher.send",)),
    ("producer path: faust ProducerBuffer + aiokafka sender", ("faust/transport/producer", "aiokafka/producer",
                                                              "Topic.publish_message")),
    ("decode (pydantic, TreasuryApp._decode)", ("TreasuryApp._decode",)),
    ("engine core (Engine.handle/invalid/handle_step)", ("Engine.handle", "Engine.invalid")),
    ("aligner + drained checks", ("Aligner.", "TreasuryApp._drained")),
    ("faust stream/acks (rest of _take/_process)", ("TreasuryApp._take", "TreasuryApp._process")),
    ("consumer fetch (aiokafka/faust consumer)", ("aiokafka/consumer", "faust/transport/consumer",
                                                  "faust/transport/drivers/aiokafka")),
    ("event loop waiting (select)", ("EpollSelector.select",)),
)


def categorize(stacks: list[tuple[list[str], int]]) -> list[tuple[str, int]]:
    found: Counter[str] = Counter()
    for frames, count in stacks:
        joined = ";".join(frames)
        found[next((name for name, markers in _CATEGORIES if any(m in joined for m in markers)), "other")] += count
    return found.most_common()


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def summarize_profile(path: Path, top: int = 15) -> str:
    """Self and inclusive shares per function from py-spy's raw (collapsed) stacks."""
    if not path.is_file():
        return f"(no profile: {path} missing; see py-spy.log)"
    self_: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = []
        for frame in stack.split(";"):
            m = _FRAME.match(frame)
            if m:
                file = m["file"]
                short = file.split("site-packages/")[-1] if "site-packages/" in file else \
                    file.replace(str(REPO) + "/", "")
                frames.append(f"{m['func']} ({short})")
            else:
                frames.append(frame)
        stacks.append((frames, count))
        if frames:
            self_[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    if not total:
        return "(empty profile)"
    out = [f"py-spy samples: {total:,} (idle time of the event loop shows as select/poll)", "",
           "share %  where (each sample counted once, first matching category)"]
    out += [f"{100 * c / total:6.1f}   {name}" for name, c in categorize(stacks)]
    out += ["", "self %   function"]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in self_.most_common(top)]
    out += ["", "incl %   function (ours and the Kafka path)"]
    interesting = [(f, c) for f, c in incl.most_common() if any(s in f for s in (
        "stream/", "agents/", "models/", "alerts/", "faust/", "aiokafka/", "mode/"))]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in interesting[:top]]
    return "\n".join(out)


# --- report -------------------------------------------------------------------------------------------

def background_busy(seconds: float = 3.0) -> float:
    """Share of all cores busy while this script does nothing (other people's processes)."""
    before = machine_busy()
    time.sleep(seconds)
    after = machine_busy()
    return (after[0] - before[0]) / max(1.0, after[1] - before[1])


def machine_line() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    from importlib.metadata import version
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores of {model}, {mem:.0f} GB, Python {platform.python_version()}, "
            f"faust-streaming {version('faust-streaming')}, aiokafka {version('aiokafka')}, "
            f"load average at start {load}")


def fmt(x: float, digits: int = 0) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"

