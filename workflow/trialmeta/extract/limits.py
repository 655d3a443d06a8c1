"""Per-paper time and memory limits: each paper is extracted in a child process.

One pathological file (a page that takes hours to lay out, a stream that
inflates to gigabytes, a crash inside the PDF library) must cost at most
`PaperLimits.seconds` and `PaperLimits.memory_mb` and end as a failure record
naming the file, never hang the run or take the machine's memory.

The child (``python -m trialmeta.extract.limits``) sets its own address-space limit
(RLIMIT_AS: the memory it holds after start-up plus `memory_mb`; enforced on
Linux) and a CPU-time limit a little above `seconds`, so it also stops if the
parent is killed; the parent kills it at `seconds` of wall-clock time. It ends
by itself when its parent disappears (a killed Snakemake job), so an
interrupted run leaves no reader running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from trialmeta.core.records import failed_record as record_of_failure

# Exit codes of the child for the outcomes it can name itself.
_OUT_OF_MEMORY = 3
_INTERNAL_ERROR = 4
# Signals that mean the child was stopped from outside (an interrupted run):
# no failure record is written, so a rerun extracts the paper again.
_INTERRUPTED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
# The child checks for a vanished parent this often (seconds).
_ORPHAN_POLL = 0.5


@dataclass(frozen=True)
class PaperLimits:
    """What one paper may cost; config key `paper_limits`."""

    seconds: float = 600.0  # wall-clock time to read and extract one paper
    memory_mb: int = 2048  # memory beyond the reader's own start-up
    max_pages: int = 300  # more pages: a "too_many_pages" failure (ReadSettings.max_pages)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"paper_limits.{name} must be a positive number, not {value!r}")
        if not isinstance(self.memory_mb, int) or not isinstance(self.max_pages, int):
            raise ValueError("paper_limits.memory_mb and paper_limits.max_pages must be whole numbers")


class InterruptedExtraction(RuntimeError):
    """The child was stopped by a signal from outside; nothing is recorded for the paper."""


def failed_record(path: str, lexicon_path: str, kind: str, message: str) -> dict:
    return record_of_failure(path, lexicon_path, kind, f"{path}: {message}")


def extract_within_limits(path: str, lexicon_path: str, limits: PaperLimits = PaperLimits()) -> tuple[dict, str]:
    """The extraction record of one paper, computed in a child process within `limits`,
    and what the child wrote to stderr (for the job's log).

    Exceeding a limit, running out of memory or crashing gives a failed record
    (error kinds ``time_limit``, ``memory_limit``, ``crashed``,
    ``internal_error``); a child stopped by SIGINT, SIGTERM or SIGHUP raises
    InterruptedExtraction, and an interrupt of the parent kills the child and
    propagates: an interrupted paper leaves no record, so a rerun extracts it.
    """
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="trialmeta-extract-") as scratch:
        out = os.path.join(scratch, "record.json")
        request = {"path": path, "lexicon": lexicon_path, "limits": asdict(limits), "out": out, "parent": os.getpid()}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "trialmeta.extract.limits", json.dumps(request)],
                env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                timeout=limits.seconds,
            )
        except subprocess.TimeoutExpired as expired:  # run() has killed the child
            stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else expired.stderr or ""
            return failed_record(path, lexicon_path, "time_limit", _time_message(limits)), stderr
        if done.returncode == 0:
            with open(out, encoding="utf-8") as handle:
                return json.load(handle), done.stderr
    return _failure(path, lexicon_path, limits, done.returncode, done.stderr), done.stderr


def _time_message(limits: PaperLimits) -> str:
    return (
        f"reading and extraction took longer than the per-paper time limit of {limits.seconds:g} s "
        "(paper_limits.seconds); the file may be damaged or machine-generated: check that it opens quickly "
        "in a PDF viewer, re-save it, or raise the limit"
    )


def _failure(path: str, lexicon_path: str, limits: PaperLimits, returncode: int, stderr: str) -> dict:
    last_line = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "no message")
    if returncode == _OUT_OF_MEMORY:
        return failed_record(path, lexicon_path, "memory_limit", (
            f"reading needed more than the per-paper memory limit of {limits.memory_mb} MB (paper_limits.memory_mb); "
            "the file may hold a huge or damaged stream: re-save it with a PDF tool, or raise the limit"
        ))
    if returncode == _INTERNAL_ERROR:
        return failed_record(path, lexicon_path, "internal_error", (
            f"extraction stopped with an unexpected error ({last_line}); the job log has the traceback; "
            "please report it with this file"
        ))
    if returncode < 0:
        number = -returncode
        if number in _INTERRUPTED:
            raise InterruptedExtraction(f"{path}: extraction was stopped by signal {signal.Signals(number).name}")
        if number == signal.SIGXCPU:
            return failed_record(path, lexicon_path, "time_limit", _time_message(limits))
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return failed_record(path, lexicon_path, "crashed", (
            f"the reader was killed by signal {name} (the system ran out of memory, or the PDF library crashed "
            f"on this file); re-save the file with a PDF tool, or lower paper_limits.memory_mb below the free memory"
        ))
    raise RuntimeError(f"{path}: the extraction process could not run (exit code {returncode}): {last_line}")


# --- the child -------------------------------------------------------------------


def _address_space_bytes() -> int | None:
    """Virtual memory this process holds now (Linux), None where unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _lower_soft_limit(kind: int, value: int) -> None:
    import resource

    _, hard = resource.getrlimit(kind)
    # a stricter limit set by the system or the user (ulimit, a batch system) stays in force
    resource.setrlimit(kind, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))


def _set_limits(limits: PaperLimits) -> None:
    import resource

    held = _address_space_bytes()
    if held is not None:
        _lower_soft_limit(resource.RLIMIT_AS, held + limits.memory_mb * 1024 * 1024)
    # a backstop for an orphaned child: the parent's wall clock normally stops it first
    _lower_soft_limit(resource.RLIMIT_CPU, int(limits.seconds) + 2)


def _exit_when_orphaned(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_ORPHAN_POLL)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _child(argument: str) -> int:
    request = json.loads(argument)
    # Ctrl-C reaches the whole process group: the parent decides, the child goes on until killed
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_orphaned(request["parent"])
    from trialmeta.core.io import write_json
    from trialmeta.extract.extraction import extract_paper
    from trialmeta.extract.lexicon import load_lexicon
    from trialmeta.extract.reading import ReadSettings

    limits = PaperLimits(**request["limits"])
    lexicon = load_lexicon(request["lexicon"])
    settings = ReadSettings(max_pages=limits.max_pages)
    _set_limits(limits)
    try:
        record = extract_paper(request["path"], lexicon, settings)
    except MemoryError:
        return _OUT_OF_MEMORY
    except Exception:  # a bug or an unforeseen file: reported as this paper's failure
        import traceback

        traceback.print_exc()
        return _INTERNAL_ERROR
    write_json(request["out"], record)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
