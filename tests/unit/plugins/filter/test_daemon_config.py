"""The daemon_config filter: the role's files are the module's files."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockyard.machine.plugins.filter.daemon_config import FilterModule, daemon_config
from ansible_collections.dockyard.machine.plugins.module_utils._daemon_config import DaemonConfig, merge_daemon_json, render_dropin


def test_tls_renders_the_modules_dropin_and_daemon_json():
    out = daemon_config({"tls": True, "labels": ["env=prod"], "env": ["HTTP_PROXY=http://p:3128"], "options": {"live-restore": True}})
    module = DaemonConfig(provider="generic", labels=("env=prod",), env=("HTTP_PROXY=http://p:3128",))
    assert out["dropin"] == render_dropin(module)
    # What the module would write on a host that has no daemon.json yet.
    assert out["daemon_json"] == merge_daemon_json("", module)[0]
    assert out["dropin_path"] == "/etc/systemd/system/docker.service.d/10-machine.conf"
    assert (out["ca_path"], out["cert_path"], out["key_path"]) == ("/etc/docker/ca.pem", "/etc/docker/server.pem", "/etc/docker/server-key.pem")
    assert out["dockerd_binary"] == "/usr/bin/dockerd"


def test_the_module_sees_no_change_in_a_daemon_json_the_role_wrote():
    out = daemon_config({"tls": True, "options": {"live-restore": True, "log-driver": "json-file", "log-opts": {"max-size": "10m"}}})
    assert merge_daemon_json(out["daemon_json"], DaemonConfig(provider="generic")) == (out["daemon_json"], [])


def test_port_and_provider():
    out = daemon_config({"tls": True, "port": "12376", "provider": "amazonec2"})
    assert "-H tcp://0.0.0.0:12376 " in out["dropin"] and "--label provider=amazonec2 " in out["dropin"]


def test_without_tls_there_is_no_dropin_and_the_flags_go_to_daemon_json():
    out = daemon_config({"labels": ["a=b"], "registry_mirrors": ["https://m"], "storage_driver": "vfs", "options": {"debug": True}})
    assert out["dropin"] == ""
    assert json.loads(out["daemon_json"]) == {"debug": True, "labels": ["a=b"], "registry-mirrors": ["https://m"], "storage-driver": "vfs"}


def test_empty_settings_give_an_empty_object():
    assert daemon_config({})["daemon_json"] == "{}\n"


@pytest.mark.parametrize("key, instead", [("hosts", "tls and port"), ("tlscert", "tls"), ("labels", "labels")])
def test_conflicting_options_are_refused_naming_the_setting(key, instead):
    with pytest.raises(AnsibleFilterError, match="Use the settings %s instead" % instead):
        daemon_config({"tls": True, "options": {key: "x"}})


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"tls": True, "labels": ["a=b\nExecStartPre=/bin/evil"]}, "engine.labels holds a control character"),
        ({"labels": "a=b"}, "labels must be a list"),
        ({"port": 70000}, "is not a TCP port"),
        ({"port": "x"}, "port must be a number"),
        ({"env": ["A=1"]}, "without tls"),
        ({"colour": "red"}, "unknown settings colour"),
        ({"options": ["live-restore"]}, "options must be a dictionary"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        daemon_config(settings)


def test_not_a_dict():
    with pytest.raises(AnsibleFilterError, match="expects a dictionary"):
        daemon_config(["tls"])


def test_registered_name():
    assert FilterModule().filters() == {"daemon_config": daemon_config}
