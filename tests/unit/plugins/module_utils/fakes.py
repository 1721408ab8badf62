"""Fakes injected at the collection's seams (never patched over private names)."""

from __future__ import annotations

import re
import shlex
import typing as t
from dataclasses import dataclass, field


@dataclass
class Step:
    """One expected remote command: a regex the script must match, and the host's answer."""

    pattern: str
    rc: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass
class TranscriptRunner:
    """An SSH runner that answers from a transcript, in order, and records what was sent.

    Use as ``SSHSession(target, runner=transcript)``.  Every remote command must match the next
    expected step; anything else fails the test with the script that was sent.
    """

    steps: list[Step]
    calls: list[tuple[list[str], bytes | None]] = field(default_factory=list)

    def __call__(self, argv: t.Sequence[str], stdin: bytes | None, timeout: float) -> tuple[int, bytes, bytes]:
        self.calls.append((list(argv), stdin))
        words = shlex.split(argv[-1])
        if words[:2] == ["sudo", "-n"]:
            words = words[2:]
        assert words[:2] == ["sh", "-c"], argv
        script = words[2]
        assert self.steps, "unexpected command after the transcript ended: %s" % script
        step = self.steps.pop(0)
        assert re.search(step.pattern, script), "expected /%s/, got: %s" % (step.pattern, script)
        return step.rc, step.stdout.encode(), step.stderr.encode()

    def scripts(self) -> list[str]:
        return [shlex.split(argv[-1])[-1] for argv, dummy in self.calls]

    def finished(self) -> bool:
        return not self.steps


@dataclass
class HostsRunner:
    """An SSH runner for several hosts at once: each host (the word after ``--``) answers from its own transcript.

    Hosts worked in parallel interleave their commands; per host, the order is still checked.
    A host mapped to ``None`` refuses every connection, as a stopped machine does.
    """

    hosts: dict[str, TranscriptRunner | None]
    refused: list[str] = field(default_factory=list)

    def __call__(self, argv: t.Sequence[str], stdin: bytes | None, timeout: float) -> tuple[int, bytes, bytes]:
        host = argv[list(argv).index("--") + 1]
        transcript = self.hosts[host]
        if transcript is None:
            self.refused.append(host)
            return 255, b"", b"ssh: connect to host %s port 22: Connection refused\r\n" % host.encode()
        if "-O" in argv:  # closing the control master
            return 0, b"", b""
        return transcript(argv, stdin, timeout)
