"""The engine configuration: the original's drop-in byte for byte, daemon.json merged without conflicts."""

from __future__ import annotations

import json

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
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
    current = json.dumps({"log-driver": "local", "hosts": ["fd://"], "labels": ["x=y"]})
    merged, removed = merge_daemon_json(current, DaemonConfig(provider="generic"))
    assert json.loads(merged) == {"log-driver": "local", "live-restore": True}
    assert removed == ["hosts", "labels"]


@pytest.mark.parametrize("text", ["", "   \n"])
def test_missing_daemon_json_counts_as_empty(text):
    merged, removed = merge_daemon_json(text, DaemonConfig(provider="generic"))
    assert json.loads(merged) == {"live-restore": True} and removed == []


def test_a_hosts_own_live_restore_false_stays_for_swarm_mode():
    # Swarm mode refuses live-restore: a re-issued certificate must not turn it back on for a swarm node.
    merged, removed = merge_daemon_json('{"live-restore": false, "log-driver": "local"}\n', DaemonConfig(provider="generic"))
    assert json.loads(merged) == {"live-restore": False, "log-driver": "local"} and removed == []
    # Anything but an explicit false is ours to set.
    assert json.loads(merge_daemon_json('{"live-restore": null}', DaemonConfig(provider="generic"))[0]) == {"live-restore": True}


def test_a_daemon_json_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError):
        merge_daemon_json("[1]", DaemonConfig(provider="generic"))


@pytest.mark.parametrize(
    "field_name,option,value",
    [
        ("labels", "engine.labels", "a=b\nExecStartPre=/bin/touch /tmp/pwned"),
        ("labels", "engine.labels", "a=b\rExecStartPre=/bin/touch /tmp/pwned"),
        ("insecure_registries", "engine.insecure_registries", "reg:5000\x00"),
        ("registry_mirrors", "engine.registry_mirrors", "https://m\tx"),
        ("arbitrary_flags", "engine.options", "log-opt=a\x1b[0m"),
        ("env", "engine.env", "A=1\nExecStartPre=/bin/touch /tmp/pwned"),
        ("storage_driver", "engine.storage_driver", "vfs\n[Service]"),
    ],
)
def test_control_characters_are_refused_naming_the_option(field_name, option, value):
    values = value if field_name == "storage_driver" else (value,)
    with pytest.raises(MachineError) as info:
        render_dropin(DaemonConfig(provider="generic", **{field_name: values}))
    assert info.value.details["option"] == option
    assert option in info.value.msg


def _exec_start_words(text):
    """The ExecStart= arguments after systemd's unquoting (single and double quotes, backslash escapes, %% and $$)."""
    line = [entry for entry in text.splitlines() if entry.startswith("ExecStart=/")]
    assert len(line) == 1
    words, word, quoted, in_word, chars = [], [], "", False, iter(line[0][len("ExecStart="):])
    for char in chars:
        if char == "\\" and quoted != "'":
            word.append(next(chars))
            in_word = True
        elif char in "\"'" and quoted in ("", char):
            quoted, in_word = ("" if quoted else char), True
        elif char in "%$":
            assert next(chars) == char, "a lone %s is expanded by systemd" % char
            word.append(char)
            in_word = True
        elif char == " " and not quoted:
            if in_word:
                words.append("".join(word))
            word, in_word = [], False
        else:
            word.append(char)
            in_word = True
    assert not quoted
    if in_word:
        words.append("".join(word))
    return words


@pytest.mark.parametrize("label", ['note=two words', "rate=100%", 'say="hi"', "path=C:\\x", "cost=$HOME", "it's=ok", ""])
def test_special_values_render_as_one_quoted_argument(label):
    text = render_dropin(DaemonConfig(provider="generic", labels=(label,)))
    words = _exec_start_words(text)
    assert words[words.index("--label") + 1] == label
    assert words.count("--label") == 2 and words[-1] == "provider=generic"


def test_quoting_covers_every_exec_start_option():
    config = DaemonConfig(
        provider="generic", storage_driver="my driver", insecure_registries=("a b",), registry_mirrors=("m%n",), arbitrary_flags=("log-opt=tag=x y",)
    )
    words = _exec_start_words(render_dropin(config))
    assert words[words.index("--storage-driver") + 1] == "my driver"
    assert words[words.index("--insecure-registry") + 1] == "a b"
    assert words[words.index("--registry-mirror") + 1] == "m%n"
    assert "--log-opt=tag=x y" in words


def test_a_percent_in_the_environment_is_not_a_specifier():
    text = render_dropin(DaemonConfig(provider="generic", env=("NO_PROXY=%h",)))
    assert text.splitlines()[-1] == 'Environment="NO_PROXY=%%h" '
