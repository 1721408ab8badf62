"""DigitalOcean droplets that are real hosts: the API emulator's droplets backed by machine containers of the test bed.

Each droplet the emulator creates gets a container named after it, on the droplet's public address (127.0.9.x),
authorizing the public keys the droplet was created with; a droplet that powers on at another address, or gets a
reserved IP, takes its container along; a deleted droplet's container goes.
"""

from __future__ import annotations

import time
from pathlib import Path

from ansible_collections.dockyard.machine.tests.support import bed
from ansible_collections.dockyard.machine.tests.support.do_emulator import Emulator

IMAGE = "bookworm-docker"


class Cloud:
    """The emulator with its droplets backed by machine containers."""

    def __init__(self, state: Emulator, keys_dir: Path, image: str = IMAGE) -> None:
        self.api = state
        self.keys_dir = keys_dir
        self.image = image
        self.containers: set[str] = set()
        #: Seconds each container took to start (a droplet's boot, inside its create).
        self.boot_seconds: list[float] = []

    def fresh(self) -> Emulator:
        """The emulator emptied, with the hooks that make droplets hosts."""
        self.api.reset()
        self.api.on_create, self.api.on_delete = self._boot, self._gone
        self.api.on_power, self.api.on_reserved_ip = self._moved, self._reserved
        return self.api

    def _boot(self, droplet: dict, address: str, public_keys: list[str]) -> None:
        keys = self.keys_dir / ("%d.pub" % droplet["id"])
        keys.write_text("\n".join(public_keys) + "\n")
        self.containers.add(droplet["name"])
        started = time.monotonic()
        bed.start_machine(droplet["name"], self.image, address, keys)
        self.boot_seconds.append(time.monotonic() - started)

    def _gone(self, droplet: dict) -> None:
        bed.stop_machine(droplet["name"])
        self.containers.discard(droplet["name"])

    @staticmethod
    def _moved(droplet: dict, kind: str, address: str) -> None:
        if address:
            bed.move_machine(droplet["name"], address)

    @staticmethod
    def _reserved(droplet: dict, ip: str) -> None:
        bed.move_machine(droplet["name"], ip)

    def stop_all(self) -> None:
        """Every container still standing goes (a test that failed half-way)."""
        self.api.wait_idle()
        for name in list(self.containers):
            bed.stop_machine(name)
        self.containers.clear()
