"""The worker's logging: faust's spinner must not leave the root logger at DEBUG (a record per message)."""

import subprocess
import sys

_PROBE = """
import logging
import faust
from faust.worker import Worker
from stream.kafka.commands import quiet_worker

def debug_enabled(quiet):
    app = faust.App("probe", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    worker = Worker(app, loglevel="WARNING", quiet=True)
    if quiet:
        quiet_worker(worker)
    worker._setup_logging()
    return logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)

import sys
print(debug_enabled(False), debug_enabled(True), file=sys.__stdout__)
"""


def test_a_quiet_worker_logs_at_its_level_and_builds_no_debug_records() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    # faust's own default turns DEBUG on (the spinner); ours does not
    assert done.stdout.split()[-2:] == ["True", "False"], done.stdout + done.stderr
