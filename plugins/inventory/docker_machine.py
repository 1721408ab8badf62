# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: docker_machine
short_description: Machines of a docker-machine store as inventory hosts
version_added: 1.0.0
author:
  - dockyard.machine developers (@dockyard)
description:
  - Lists every machine of a docker-machine store (the original tool's C(~/.docker/machine), or one written by
    this collection) as an inventory host, with its SSH connection variables and its Docker TLS settings.
  - Reads the store's C(machines/*/config.json) files directly. It needs neither the archived C(docker-machine)
    binary nor any network access, unless O(live_state) or O(cloud_refresh) is enabled.
  - A store copied to another folder or computer works as it is; recorded paths pointing at the old location
    are resolved to the same files under the store's current location.
  - A machine whose record cannot be read (malformed or half-written C(config.json), missing C(config.json),
    invalid folder name) is skipped with a warning naming the file; every other machine is still listed.
  - So is a machine whose recorded address or SSH user is not a name ssh can take (empty is fine; one starting with
    C(-), such as C(-oProxyCommand=...), or holding spaces or control characters is not); an address from
    O(cloud_refresh) that is not one is ignored with a warning, and the recorded address stays.
  - Cloud credentials stored in old records (C(AccessKey), C(SecretKey), C(SessionToken)) and key contents are
    never exposed; only file paths are.
  - Every host variable the plugin sets can be used in O(compose), O(groups) and O(keyed_groups).
  - "Host variables set for each machine: C(ansible_host) (the machine's IP; for machines without SSH, such as
    the C(none) driver, the host part of the Docker URL), C(ansible_port), C(ansible_user),
    C(ansible_ssh_private_key_file) (only when the record names a key), C(docker_machine_name),
    C(docker_machine_driver), C(docker_machine_url), C(docker_machine_labels) (the engine labels),
    C(docker_machine_tags) (a dict parsed from the amazonec2 driver's C(k1,v1,k2,v2) tags; empty for other drivers),
    C(docker_machine_docker) (C(docker_host), C(tls), C(validate_certs), C(ca_path), C(client_cert), C(client_key):
    ready for C(module_defaults) of C(group/community.docker.docker)), C(docker_machine_env) (what
    C(docker-machine env) exports), and, as C(community.docker.docker_machine) sets them, C(dm_DOCKER_TLS_VERIFY),
    C(dm_DOCKER_HOST), C(dm_DOCKER_CERT_PATH), C(dm_DOCKER_MACHINE_NAME) and C(dm_tags) (the raw tags string)."
  - For a machine whose SSH host keys M(dockyard.machine.docker_machine) pinned, also C(ansible_ssh_common_args),
    C(-o UserKnownHostsFile=FILE -o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=dockyard-machine-NAME -o
    StrictHostKeyChecking=yes), so plays reach the machine with exactly the keys that were pinned, with
    Ansible's default host key checking and nothing in C(~/.ssh/known_hosts). FILE is C(dockyard-known_hosts) in
    the store root, written (atomically, mode 0600) on every read of the store from the pinned keys of all
    machines. When the store cannot be written, FILE is
    C($XDG_CACHE_HOME/dockyard.machine/known_hosts-HASH) (default C(~/.cache)) instead; nothing else is written.
  - Machines without pinned keys (records of the original tool, the C(none) driver) get no
    C(ansible_ssh_common_args); your own SSH host key checking applies to them.
  - With O(live_state), also C(docker_machine_state) (one of C(Running), C(Stopped), C(Starting), C(Stopping),
    C(Error), C(Timeout) ...) and, when the check failed, C(docker_machine_state_error). Without O(live_state)
    these variables are not set at all (test them with C(is defined)), except for the machines O(cloud_refresh)
    refreshes.
  - The configuration file must be named C(docker_machine.yml) or end with C(.docker_machine.yml)
    (or C(.yaml)).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    type: str
    required: true
    choices:
      - dockyard.machine.docker_machine
  store_path:
    description:
      - The docker-machine store folder (the original's C(--storage-path)).
      - When not set, the environment variable E(MACHINE_STORAGE_PATH) on the controller is used, and without it
        C(~/.docker/machine).
      - A relative path is taken from the current directory, as the original tool does.
      - When the folder holds no C(machines) folder, no host is listed and a warning says so.
    type: path
    default: ~/.docker/machine
    env:
      - name: MACHINE_STORAGE_PATH
  live_state:
    description:
      - Ask each machine's driver for its current state and set it in the host variable C(docker_machine_state).
      - The C(generic) driver tries the SSH port, the C(amazonec2) driver calls the EC2 API (credentials from the
        standard AWS chain), the C(none) driver always answers C(Running).
      - Machines are checked in parallel (up to 32 at once); each check is bounded by O(state_timeout).
      - When V(false), no network connection is made and C(docker_machine_state) is not set.
    type: bool
    default: false
  cloud_refresh:
    description:
      - Refresh the state and the address of every machine whose driver can describe many machines in one cloud API
        call, in batches, instead of trusting the address its record holds (a stopped and started instance usually
        has a new public IP). For C(amazonec2) machines this is the EC2 API.
      - For C(amazonec2), the instances are described with one C(DescribeInstances) call per region (the record's
        C(Region)) at O(cloud_endpoint_url) and per 200 machines, never one call per machine;
        the regions are asked in parallel, and everything is bounded by O(cloud_refresh_timeout).
      - The state goes in C(docker_machine_state), as with O(live_state) (which then no longer asks these machines
        one by one). The address, the private IP when the record says C(UsePrivateIP) or C(PrivateIPOnly), else the
        public IP (the original's rule), replaces C(ansible_host) and the Docker URL (C(docker_machine_url),
        C(docker_machine_docker.docker_host), C(docker_machine_env.DOCKER_HOST), C(dm_DOCKER_HOST)) for this run.
        The store is not written; a warning says when the address differs from the record's.
      - An instance that gives no address (a stopped instance has no public IP) keeps the recorded one.
      - An instance that is terminated or not found any more is C(Error), with C(docker_machine_state_error) and a
        warning naming the machine and the instance; a region that cannot be asked (no credentials, endpoint down)
        gives C(Error) or C(Timeout) for its machines and one warning. The inventory is listed anyway.
      - Credentials come from the cloud's standard chain on the controller (for AWS E(AWS_ACCESS_KEY_ID) and
        E(AWS_SECRET_ACCESS_KEY), E(AWS_PROFILE), the shared credentials files, an instance role) or
        O(cloud_profile); the keys old records hold are never used. No credential becomes a host variable.
      - With C(ansible-inventory -vvv), the number of API calls per region is shown.
      - Its former name C(ec2_refresh) is an alias.
    type: bool
    default: false
    aliases: [ec2_refresh]
  cloud_refresh_timeout:
    description:
      - Seconds the whole O(cloud_refresh) may take, every region and page together. Each call is bounded by it
        (connect and read timeouts) and never retried; the machines of a region that has not answered by then are
        C(Timeout).
      - Its former name C(ec2_refresh_timeout) is an alias.
    type: float
    default: 10
    aliases: [ec2_refresh_timeout]
  cloud_profile:
    description:
      - The credential profile O(cloud_refresh) uses (for AWS, from the shared credentials and config files).
      - When not set, the cloud's standard chain chooses (for AWS E(AWS_PROFILE), then the environment's keys, the
        default profile, an instance role).
      - Its former name C(aws_profile) is an alias.
    type: str
    aliases: [aws_profile]
  cloud_endpoint_url:
    description:
      - The API endpoint O(cloud_refresh) calls for every machine (unset, the cloud's own, that is AWS's regional
        endpoints or DigitalOcean's API).
      - A record that names another endpoint (C(Endpoint) of an C(amazonec2) record, the sidecar's C(APIURL) of a
        C(digitalocean) one), or one when this option is unset, is not asked; its state is C(Error), with a warning
        naming the machine and this option. A record never chooses where the credentials' signed calls (or the token)
        go, nor whose answer becomes C(ansible_host).
      - Its former name C(aws_endpoint_url) is an alias.
    type: str
    aliases: [aws_endpoint_url]
  state_timeout:
    description:
      - Seconds one machine's state check may take; a machine that has not answered by then is C(Timeout).
    type: float
    default: 5
  running_required:
    description:
      - Leave out machines whose state is not C(Running).
      - Checking the state needs the network, so V(true) checks states as if O(live_state) were V(true).
    type: bool
    default: false
  group_by_driver:
    description:
      - Put each machine in a group C(docker_machine_<driver>), for example C(docker_machine_generic) or
        C(docker_machine_amazonec2). Characters other than letters, digits and C(_) become C(_).
    type: bool
    default: true
notes:
  - With O(cache) enabled, the host variables (with the states and the refreshed addresses, when asked) are
    cached; the next run takes them from the cache without reading the store, until O(cache_timeout) passes or
    C(--flush-cache) is given.
    A cache entry written for another O(store_path), O(live_state) or O(cloud_refresh) setting is not used.
  - To add SSH options of your own, extend the plugin's value in O(compose) (see the examples); replacing
    C(ansible_ssh_common_args) drops the pinned host keys.
  - With O(cache), the cached C(ansible_ssh_common_args) name the known-hosts file written when the cache was filled.
  - A host rebuilt with new SSH host keys is refused (C(Host key verification failed)) until
    M(dockyard.machine.docker_machine) pins its new keys with O(dockyard.machine.docker_machine#module:ssh_host_key_reset=true).
seealso:
  - name: community.docker.docker_machine
    description: The inventory plugin this one replaces; it calls the C(docker-machine) binary.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_machine_inventory.html
"""

EXAMPLES = r"""
---
# stage.docker_machine.yml: every machine of ~/.docker/machine (or $MACHINE_STORAGE_PATH)
plugin: dockyard.machine.docker_machine

---
# A store in another folder, only running machines, grouped by engine label and EC2 tag
plugin: dockyard.machine.docker_machine
store_path: /srv/ci/docker-machine
running_required: true
state_timeout: 3
keyed_groups:
  - prefix: label
    key: docker_machine_labels
  - prefix: team
    key: docker_machine_tags.team | default('')
compose:
  # compose sees the plugin's own variables
  docker_api_url: docker_machine_url | replace('tcp://', 'https://')
  # keep the pinned host keys, add a jump host
  ansible_ssh_common_args: "ansible_ssh_common_args | default('') ~ ' -o ProxyJump=bastion.example.com'"

---
# amazonec2 machines with their current state and address from the EC2 API (one call per region), only running ones
plugin: dockyard.machine.docker_machine
cloud_refresh: true
cloud_refresh_timeout: 5
running_required: true
cloud_profile: ops

---
# Cache the listing between runs (ansible-inventory --flush-cache rereads the store)
plugin: dockyard.machine.docker_machine
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-inventory
cache_timeout: 600

# A play using the Docker connection values of each machine:
# - hosts: docker_machine_generic
#   gather_facts: false
#   module_defaults:
#     group/community.docker.docker: "{{ docker_machine_docker }}"
#   tasks:
#     - community.docker.docker_host_info:
#       delegate_to: localhost
"""

import typing as t

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible_collections.dockyard.machine.plugins.module_utils._drivers.batch import RefreshSettings
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore, resolve_store_path
from ansible_collections.dockyard.machine.plugins.plugin_utils._inventory import (
    StoreScan,
    cached_scan,
    driver_group_name,
    driver_state,
    make_unsafe,
    scan_store,
)

CONFIG_SUFFIXES = ("docker_machine.yml", "docker_machine.yaml")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts from a docker-machine store, read from disk."""

    NAME = "dockyard.machine.docker_machine"

    # Seam: how a machine's live state is asked (record, timeout) -> state.  Tests put a fake here.
    state_probe = staticmethod(driver_state)
    # Seam: how cloud API clients are made for cloud_refresh, (region, endpoint_url, timeout) -> client; None: the driver's.
    cloud_client_factory: t.Callable[[str, str | None, float], t.Any] | None = None

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        base = path.replace("\\", "/").rsplit("/", 1)[-1]
        return any(base == suffix or base.endswith("." + suffix) for suffix in CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)

        store = MachineStore(resolve_store_path(self.get_option("store_path")))
        check_state = bool(self.get_option("live_state") or self.get_option("running_required"))
        timeout = self.get_option("state_timeout")
        if timeout is None or timeout <= 0:
            raise AnsibleParserError("Option 'state_timeout' must be a positive number of seconds, got %r." % (timeout,))

        refresh = None
        if self.get_option("cloud_refresh"):
            refresh_timeout = self.get_option("cloud_refresh_timeout")
            if refresh_timeout is None or refresh_timeout <= 0:
                raise AnsibleParserError("Option 'cloud_refresh_timeout' must be a positive number of seconds, got %r." % (refresh_timeout,))
            refresh = RefreshSettings(
                timeout=float(refresh_timeout),
                profile=self.get_option("cloud_profile") or None,
                endpoint_url=self.get_option("cloud_endpoint_url") or None,
                client_factory=self.cloud_client_factory,
            )

        caching = bool(self.get_option("cache"))
        cache_key = self.get_cache_key(path) if caching else None
        scan = None
        if caching and cache:
            try:
                scan = cached_scan(self._cache[cache_key], store_path=store.root, live_state=check_state, cloud_refresh=refresh is not None)
            except KeyError:
                scan = None
            if scan is not None:
                self.display.vvv("%s: %d hosts from the inventory cache" % (self.NAME, len(scan.hosts)))
        if scan is None:
            scan = scan_store(store, live_state=check_state, state_timeout=float(timeout), state_probe=self.state_probe, refresh=refresh)
            if refresh is not None:
                self.display.vvv("%s: cloud refresh: %d API call(s)" % (self.NAME, scan.refresh_calls))
                for line in scan.refresh_details:
                    self.display.vvv("%s: %s" % (self.NAME, line))
            for warning in scan.warnings:
                self.display.warning(warning)
            if caching:
                self._cache[cache_key] = scan.payload()
        self._populate(scan)

    def _populate(self, scan: StoreScan) -> None:
        running_required = self.get_option("running_required")
        group_by_driver = self.get_option("group_by_driver")
        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        for name, plain_vars in scan.hosts.items():
            if running_required and plain_vars.get("docker_machine_state") != "Running":
                continue
            hostvars = make_unsafe(plain_vars)
            host = self.inventory.add_host(name)
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            driver = hostvars.get("docker_machine_driver")
            if group_by_driver and driver:
                self.inventory.add_child(self.inventory.add_group(driver_group_name(driver)), host)
            # Unlike community.docker.docker_machine, compose sees every variable set above.
            self._set_composite_vars(compose, hostvars, host, strict=strict)
            self._add_host_to_composed_groups(groups, hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(keyed_groups, hostvars, host, strict=strict)
