# Entry points for developers and CI (`make test` is what .ci/run runs). Every target can be run
# on its own: each one brings up what it needs (venv, collection link, engine).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# `make test` must run its steps in order and stop at the first failure.
.NOTPARALLEL:

# Resolved before .venv/bin goes first on PATH: the venv is built from the system Python.
PYTHON := $(shell command -v python3)
VENV := $(CURDIR)/.venv
REQS := requirements/ci.txt
# The whole tree of what REQS pulls in, pinned too: a new release of any dependency cannot change CI.
CONSTRAINTS := requirements/constraints.txt
# The stamp's name carries the hash of the pins, so changing them rebuilds the venv.
VENV_STAMP := $(VENV)/.stamp-$(shell cat $(REQS) $(CONSTRAINTS) | sha256sum | cut -c1-16)

BUILD := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
SANITY_COPY := $(BUILD)/sanity/ansible_collections/dockyard/machine
# ansible-test downloads pip's bootstrap script from a host CI cannot reach unless a cached copy
# exists; ours (tests/support/ansible_test_pip_bootstrap.py) installs CPython's bundled pip, then
# the pinned pip from the index. The name follows the pip version ansible-test pins (ansible-core 2.19: pip 24.2).
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py

export PATH := $(VENV)/bin:$(PATH)
export DEBIAN_FRONTEND := noninteractive
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
# Test processes import our collection from .build/collections (the `ansible` package's
# collections stay importable: ansible_collections is a namespace package) and load the network
# guard (tests/support/netguard/sitecustomize.py) at start-up, children included.
GUARDED := DOCKYARD_NETGUARD=1 AWS_EC2_METADATA_DISABLED=true PYTHONPATH=$(CURDIR)/tests/support/netguard:$(COLLECTIONS)$${PYTHONPATH:+:$$PYTHONPATH}

.PHONY: venv release-venv collection sanity compat lint docs artifact unit molecule integration engine images ee bed-clean bench-inventory bench-cli bench-lifecycle bench-ec2 bench-digitalocean bench-inventory-ec2 test demo demo-clean

# The dockyard-machine command (cli/). Its entry point imports the collection found on PYTHONPATH or
# ANSIBLE_COLLECTIONS_PATH (this checkout's .build/collections here), so tests run this tree's code.
CLI := $(VENV)/bin/dockyard-machine

venv: $(VENV_STAMP) $(CLI)

$(VENV_STAMP): $(REQS) $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -r $(REQS) -c $(CONSTRAINTS)
	rm -f $(VENV)/.stamp-*
	touch $@

# No dependencies of its own; built by cli/wheel_backend.py (standard library only, writes nothing into cli/).
$(CLI): cli/pyproject.toml cli/wheel_backend.py $(wildcard cli/dockyard_machine_cli/*.py) | $(VENV_STAMP)
	$(VENV)/bin/pip install --no-deps --force-reinstall ./cli
	@# The venv's Python (and so its dockyard-machine) finds this checkout's collection from any folder, not only
	@# where ansible.cfg names .build/collections: the line `make demo` prints works pasted anywhere.
	echo $(COLLECTIONS) > "$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/dockyard-machine-checkout.pth"
	touch $@

# Release checks (galaxy-importer, antsibull-docs, antsibull-changelog) in a venv of their own: their dependencies
# must not move what REQS pins for the tests.
RELEASE_VENV := $(BUILD)/release-venv
RELEASE_REQS := requirements/release.txt
RELEASE_CONSTRAINTS := requirements/release-constraints.txt
RELEASE_STAMP := $(RELEASE_VENV)/.stamp-$(shell cat $(RELEASE_REQS) $(RELEASE_CONSTRAINTS) | sha256sum | cut -c1-16)

release-venv: $(RELEASE_STAMP)

$(RELEASE_STAMP): $(RELEASE_REQS) $(RELEASE_CONSTRAINTS)
	$(PYTHON) -m venv $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/pip install -r $(RELEASE_REQS) -c $(RELEASE_CONSTRAINTS)
	rm -f $(RELEASE_VENV)/.stamp-*
	touch $@

collection:
	mkdir -p $(COLLECTIONS)/ansible_collections/dockyard
	ln -sfn ../../../.. $(COLLECTIONS)/ansible_collections/dockyard/machine

$(GET_PIP_CACHE): tests/support/ansible_test_pip_bootstrap.py
	install -D -m 644 $< $@

# ansible-test wants the collection at ansible_collections/NS/NAME and tests every file it finds
# there, so it runs on a fresh copy of the files git knows (not .venv, .build, outputs).
# Its own (empty) git repo stops ansible-test from walking up to ours, where .build/ is ignored
# and so no file would be tested.
# The ansible-test that runs: .venv's (the newest ansible-core claimed) unless `make compat` names another.
SANITY_VENV ?= $(VENV)
sanity: venv $(GET_PIP_CACHE)
	@# Every sanity test must pass as is: no ignore files.
	if compgen -G 'tests/sanity/ignore-*.txt' >/dev/null; then \
	  echo "tests/sanity/ignore-*.txt must not exist" >&2; exit 1; fi
	@# Without shellcheck, ansible-test silently skips the shellcheck test.
	command -v shellcheck >/dev/null || { apt-get update -q && apt-get install -y -q shellcheck; }
	rm -rf $(BUILD)/sanity
	mkdir -p $(SANITY_COPY)
	git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do \
	  if [[ -e $$f || -L $$f ]]; then printf '%s\0' "$$f"; fi; done \
	  | tar --null -T - -cf - | tar -xf - -C $(SANITY_COPY)
	git -C $(SANITY_COPY) init -q
	@# The collections ours imports from (amazon.aws's options and clients), where ansible-test looks for them: next to ours.
	ln -sfn "$$($(VENV)/bin/python -c 'import ansible_collections.amazon as c; print(list(c.__path__)[0])')" $(BUILD)/sanity/ansible_collections/amazon
	cd $(SANITY_COPY) && $(SANITY_VENV)/bin/ansible-test sanity --venv --requirements --python 3.11 --color no

# CI's second column: the oldest ansible-core meta/runtime.yml claims (requires_ansible), on Debian's own Python
# (/usr/bin/python3 where there is one, 3.11.2 on Debian 12): unit tests and sanity. `ansible` 12 asks for a newer
# ansible-core than the one under test, so only its collections are installed (--no-deps).
OLDEST_PYTHON := $(firstword $(wildcard /usr/bin/python3) $(PYTHON))
OLDEST_VENV := $(BUILD)/venv-core-oldest
OLDEST_REQS := requirements/oldest.txt requirements/oldest-constraints.txt
OLDEST_STAMP := $(OLDEST_VENV)/.stamp-$(shell cat $(OLDEST_REQS) | sha256sum | cut -c1-16)

$(OLDEST_STAMP): $(OLDEST_REQS)
	$(OLDEST_PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/pip install -r requirements/oldest.txt -c requirements/oldest-constraints.txt
	$(OLDEST_VENV)/bin/pip install --no-deps -c requirements/oldest-constraints.txt ansible
	rm -f $(OLDEST_VENV)/.stamp-*
	touch $@

compat: venv collection $(OLDEST_STAMP)
	$(OLDEST_VENV)/bin/python --version && $(OLDEST_VENV)/bin/ansible --version | head -n 1
	@# Its bin first: programs the tests start (ansible-playbook, ansible-doc ...) are the old core's too.
	PATH=$(OLDEST_VENV)/bin:$$PATH $(GUARDED) python -m pytest -n auto tests/unit
	$(MAKE) --no-print-directory sanity SANITY_VENV=$(OLDEST_VENV)

lint: venv collection
	ansible-lint

# Every plugin's and role's documentation as docsite builds render it (references between them included), and the
# changelog's fragments. The collections ours refers to (amazon.aws, community.docker) come from .venv's `ansible`.
docs: venv collection release-venv
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS):$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
	  PATH=$(RELEASE_VENV)/bin:$$PATH antsibull-docs lint-collection-docs --plugin-docs $(COLLECTIONS)/ansible_collections/dockyard/machine
	PATH=$(RELEASE_VENV)/bin:$$PATH antsibull-changelog lint

# The tarball users get: built, through galaxy-importer, installed into a clean HOME, ansible-doc of every plugin,
# the inventory over the fixture store and the README's command-line install from there (tests/artifact/).
artifact: venv collection release-venv
	DOCKYARD_RELEASE_VENV=$(RELEASE_VENV) $(GUARDED) python -m pytest -ra -s tests/artifact

unit: venv collection
	$(GUARDED) python -m pytest -n auto tests/unit

engine:
	bash tests/bed/engine.sh start

# Machine images (debootstrap, cached by recipe hash): minutes from scratch, a second when current.
images: engine
	bash tests/bed/images.sh build all

# The AWX execution environment (awx/execution-environment.yml) without a registry: ansible-builder's context,
# built FROM a local Debian 13 base (tests/bed/ee-base), cached by content hash; prints the image's name.
ee: venv collection engine
	bash tests/bed/images.sh build trixie
	python tests/support/ee.py

# Benchmarks print figures; they are not tests.
bench-inventory: venv collection
	$(GUARDED) python bench/inventory_bench.py

# EC2 API calls and wall time of ansible-inventory over 100 amazonec2 machines in the EC2 emulator: ec2_refresh
# (batched) next to live_state (one call per machine) and the store alone.
bench-inventory-ec2: venv collection
	$(GUARDED) python bench/inventory_ec2_refresh_bench.py

# dockyard-machine ls / env -u next to the modules over a 1,000-machine store, its start-up (ip, inspect), and
# community.docker's docker_machine inventory over it (a real TLS engine); next to the original docker-machine binary
# when $DOCKER_MACHINE_ORIGINAL names one (or BENCH_ARGS="--original PATH").
bench-cli: venv collection engine
	$(GUARDED) python bench/cli_bench.py $(BENCH_ARGS)

bench-lifecycle: venv collection engine images
	$(GUARDED) python bench/lifecycle_bench.py

bench-ec2: venv collection engine images
	$(GUARDED) python bench/ec2_bench.py

bench-digitalocean: venv collection engine images
	$(GUARDED) python bench/digitalocean_bench.py

# Every machine container of the test bed, whichever run started it.
bed-clean:
	bash tests/bed/machines.sh rm-all

E2E_WORKERS ?= 2
integration: venv collection engine images
	@# The command line's completion is tested in the real zsh as well as bash.
	command -v zsh >/dev/null || { apt-get update -q && apt-get install -y -q zsh; }
	@# dockyard-machine mount is tested with a real sshfs mount.
	command -v sshfs >/dev/null || { apt-get update -q && apt-get install -y -q sshfs; }
	@# The base image three files ship to machines, made once before they run side by side.
	bash tests/bed/webapp-base.sh role-webapp-base:1
	@# Files run in E2E_WORKERS processes, a whole file per process (pytest-xdist --dist loadfile): each file has
	@# its own loopback addresses, container names, EC2 subnet and emulators.
	$(GUARDED) python -m pytest -ra -n $(E2E_WORKERS) --dist loadfile tests/e2e

# The roles' Molecule scenarios (converge, idempotence, testinfra verify) on the test bed's images, all at
# once (their machines, networks and loopback addresses differ); each one's output goes to .build/molecule/.
MOLECULE_SCENARIOS := docker_host compose_stack swarm_cluster
molecule: venv collection engine
	bash tests/bed/images.sh build bookworm-docker
	bash tests/bed/images.sh build trixie-docker
	mkdir -p $(BUILD)/molecule
	@pids=(); for role in $(MOLECULE_SCENARIOS); do \
	  ( start=$$SECONDS; cd roles/$$role && molecule test >$(BUILD)/molecule/$$role.log 2>&1 && rc=0 || rc=$$?; \
	    echo "molecule $$role: $$((SECONDS - start)) s (exit $$rc, log .build/molecule/$$role.log)"; exit $$rc ) & pids+=($$!); done; \
	  rc=0; for pid in "$${pids[@]}"; do wait $$pid || rc=1; done; \
	  if [[ $$rc != 0 ]]; then tail -n 60 $(BUILD)/molecule/*.log; fi; exit $$rc

# In order, stopping at the first failure; the time each step took helps keep CI under its limit.
test:
	@for step in sanity lint docs unit compat artifact molecule integration; do \
	  start=$$SECONDS rc=0; $(MAKE) --no-print-directory $$step || rc=$$?; \
	  echo "make $$step: $$((SECONDS - start)) s (exit $$rc)"; [[ $$rc == 0 ]] || exit $$rc; done

# The main job: a local machine container (Debian 13, no Docker yet) on 127.0.0.200 that also relays the
# web app's port, the web app's base image on the local engine, then the demo playbook, reading the demo's
# store through the inventory plugin. The machine stays up afterwards so that you can reach it;
# `make demo-clean` removes it.
DEMO := $(BUILD)/demo
DEMO_PORT := 8080
demo: venv collection engine
	@echo "demo: machine image (Debian 13, cached once built)"
	bash tests/bed/images.sh build trixie
	bash tests/bed/webapp-base.sh dockyard/webapp-base:1
	mkdir -p $(DEMO)
	test -f $(DEMO)/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -C dockyard-demo -f $(DEMO)/id_ed25519
	docker container inspect dockyard-demo >/dev/null 2>&1 || \
	  { rm -rf $(DEMO)/store; bash tests/bed/machines.sh start demo dockyard/machine:trixie 127.0.0.200 --key $(DEMO)/id_ed25519.pub --port $(DEMO_PORT); }
	MACHINE_STORAGE_PATH=$(DEMO)/store ansible-playbook -i playbooks/inventory/demo.docker_machine.yml playbooks/demo.yml

demo-clean:
	bash tests/bed/machines.sh stop demo
	rm -rf $(DEMO)
