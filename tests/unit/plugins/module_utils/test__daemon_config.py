"""The engine configuration: the original's drop-in byte for byte, daemon.json merged without conflicts."""

from __future__ import annotations

import json

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import (
    DaemonConfig,
    merge_daemon_json,
    render_dropin,
)


def test_dropin_matches_the_originals_rendering():
    # docker-machine reference section 4.4, "verified by rendering".
    config = DaemonConfig(
        provider="generic",
        labels=("env=prod",),
        insecure_registries=("reg.local:5000",),
        registry_mirrors=("https://mirror.local",),
        arbitrary_flags=("log-driver=journald",),
        env=("HTTP_PROXY=http://p:3128",),
    )
    assert render_dropin(config) == (
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver overlay2 --tlsverify "
        "--tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label env=prod "
        "--label provider=generic --insecure-registry reg.local:5000 --registry-mirror https://mirror.local --log-driver=journald \n"
        'Environment="HTTP_PROXY=http://p:3128" \n'
    )


def test_dropin_defaults_and_port():
    text = render_dropin(DaemonConfig(provider="none", port=12376, storage_driver="vfs"))
    assert "-H tcp://0.0.0.0:12376 " in text and "--storage-driver vfs " in text
    assert text.endswith("--label provider=none \nEnvironment=\n")


def test_env_entries_are_go_quoted():
    text = render_dropin(DaemonConfig(provider="generic", env=('A=say "hi"', "B=x\\y")))
    assert text.splitlines()[-1] == 'Environment="A=say \\"hi\\"" "B=x\\\\y" '


def test_engine_options_round_trip_from_a_record():
    options = {"Labels": ["a=b"], "InsecureRegistry": ["r:5000"], "RegistryMirror": [], "ArbitraryFlags": ["debug"], "Env": [], "StorageDriver": ""}
    config = DaemonConfig.from_engine_options(options, provider="generic", port=2376)
    assert config.labels == ("a=b",) and config.arbitrary_flags == ("debug",)
    assert "--label a=b --label provider=generic --insecure-registry r:5000 --debug \n" in render_dropin(config)


def test_daemon_json_keeps_the_hosts_settings_and_drops_conflicts():
    current = json.dumps({"log-driver": "local", "hosts": ["fd://"], "labels": ["x=y"], "live-restore": False})
    merged, removed = merge_daemon_json(current, DaemonConfig(provider="generic"))
    assert json.loads(merged) == {"log-driver": "local", "live-restore": True}
    assert removed == ["hosts", "labels"]


@pytest.mark.parametrize("text", ["", "   \n"])
def test_missing_daemon_json_counts_as_empty(text):
    merged, removed = merge_daemon_json(text, DaemonConfig(provider="generic"))
    assert json.loads(merged) == {"live-restore": True} and removed == []


def test_a_daemon_json_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError):
        merge_daemon_json("[1]", DaemonConfig(provider="generic"))
