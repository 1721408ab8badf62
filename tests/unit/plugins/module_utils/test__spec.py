"""MachineSpec and EngineSpec: one way from params (the module's, the command line's) and one way from a record."""

from __future__ import annotations

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils._provision import EngineInstall
from ansible_collections.dockyard.machine.plugins.module_utils._spec import EngineSpec, MachineSpec, install_source_for
from ansible_collections.dockyard.machine.plugins.module_utils._store import DEFAULT_INSTALL_URL, MachineRecord, new_config


def test_from_params_reads_every_option_the_module_passes():
    params = {
        "name": "web1",
        "driver": "generic",
        "generic": {"ip_address": "127.0.0.1"},
        "amazonec2": None,
        "engine": {
            "install": False,
            "source": "distro",
            "install_url": DEFAULT_INSTALL_URL,
            "version": "26.1.5",
            "labels": ["a=b"],
            "insecure_registries": ["reg:5000"],
            "registry_mirrors": ["https://mirror"],
            "storage_driver": "overlay2",
            "env": ["HTTP_PROXY=x"],
            "options": {"log-driver": "journald", "debug": None},
        },
        "tls_san": ["web1.example"],
        "key_type": "ecdsa",
        "ssh_host_key_reset": True,
        "timeout": 30,
    }
    spec = MachineSpec.from_params(params)
    assert spec == MachineSpec(
        name="web1",
        driver="generic",
        driver_options={"ip_address": "127.0.0.1"},
        engine=EngineSpec(
            install=EngineInstall(enabled=False, source="distro", install_url=DEFAULT_INSTALL_URL, version="26.1.5"),
            labels=("a=b",),
            insecure_registries=("reg:5000",),
            registry_mirrors=("https://mirror",),
            storage_driver="overlay2",
            env=("HTTP_PROXY=x",),
            options=(("log-driver", "journald"), ("debug", "")),
        ),
        tls_san=("web1.example",),
        key_type="ecdsa",
        ssh_host_key_reset=True,
        timeout=30.0,
    )


def test_from_params_fills_what_a_caller_leaves_out_with_the_argument_spec_defaults():
    spec = MachineSpec.from_params({"name": "m", "driver": "none", "none": {"url": "tcp://127.0.0.1:2376"}, "engine": {"labels": ["x=y"]}})
    assert spec.engine == EngineSpec(labels=("x=y",))
    assert spec.engine.install == EngineInstall()
    assert (spec.tls_san, spec.key_type, spec.ssh_host_key_reset, spec.timeout) == ((), "rsa", False, 120.0)
    assert MachineSpec.from_params({"name": "m", "driver": "none"}).driver_options == {}


def test_a_list_value_repeats_the_engine_flag():
    engine = EngineSpec.from_params({"options": {"dns": ["192.0.2.53", "192.0.2.54"], "debug": ""}})
    assert engine.options == (("dns", "192.0.2.53"), ("dns", "192.0.2.54"), ("debug", ""))
    assert engine.engine_options()["ArbitraryFlags"] == ["dns=192.0.2.53", "dns=192.0.2.54", "debug"]


@pytest.mark.parametrize(("url", "source"), [(DEFAULT_INSTALL_URL, "docker"), ("", "docker"), ("https://example.test/install.sh", "script")])
def test_a_url_of_ones_own_means_a_script(url, source):
    assert install_source_for(url) == source


def test_from_record_gives_back_what_from_params_recorded(tmp_path):
    engine = EngineSpec.from_params(
        {
            "source": "script",
            "install_url": "https://example.test/install.sh",
            "version": "27.0.1",
            "labels": ["a=b"],
            "registry_mirrors": ["https://mirror"],
            "env": ["A=1"],
            "options": {"dns": ["192.0.2.53", "192.0.2.54"], "debug": None},
        }
    )
    config = new_config("m", str(tmp_path), "generic", {"IPAddress": "127.0.0.1"}, engine_options=engine.engine_options())
    sidecar = {"Engine": {"Install": True, "Source": "script", "Version": "27.0.1"}}
    assert EngineSpec.from_record(MachineRecord(name="m", config=config, sidecar=sidecar)) == engine


def test_from_record_of_the_originals_record_infers_the_source_from_its_url(tmp_path):
    config = new_config("m", str(tmp_path), "generic", {}, engine_options=EngineSpec(install=EngineInstall(install_url="https://get.example")).engine_options())
    install = EngineSpec.from_record(MachineRecord(name="m", config=config)).install
    assert install == EngineInstall(enabled=True, source="script", install_url="https://get.example", version="")
