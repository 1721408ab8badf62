# -*- coding: utf-8 -*-
# Copyright (c) dockyard.machine contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this doc fragment is internal to dockyard.machine.

from __future__ import annotations


class ModuleDocFragment:
    # One attribute per driver; each mirrors its driver's option_spec in plugins/module_utils/_drivers/.
    GENERIC = r"""
options:
  generic:
    description:
      - Options of the V(generic) driver, an existing host reached over SSH (the original's C(--generic-*) flags).
      - The user must be V(root) or have password-less C(sudo).
      - The host's SSH key is pinned on first contact and checked on every later contact. Your C(~/.ssh/config)
        applies (jump hosts, identities), unlike with the original.
    type: dict
    suboptions:
      ip_address:
        description: The host's address or DNS name. It becomes a SAN of the server certificate.
        type: str
        required: true
      ssh_user:
        description: SSH user.
        type: str
        default: root
      ssh_key:
        description:
          - Private key to log in with. It is copied into the machine's folder of the store (0600), as the original does.
          - Without it, C(ssh) uses your agent, C(~/.ssh/config) and default keys.
        type: path
      ssh_port:
        description: SSH port.
        type: int
        default: 22
      engine_port:
        description: Port the Docker engine listens on with TLS.
        type: int
        default: 2376
      proxy_jump:
        description: Jump host(s) for SSH, as C(ssh -J) takes them (V(user@bastion:22)). Kept in the store's sidecar file.
        type: str
      ssh_config:
        description:
          - An SSH client configuration file to use instead of C(~/.ssh/config) (C(ssh -F)), for example one an AWX credential
            injects.
          - It is used for the SSH connections of the task that passes it, with any O(state). Pass O(generic) with it again
            with O(state=started), O(state=stopped), O(state=restarted) or O(state=absent) and O(cleanup=true). The store's
            sidecar file notes it, but a noted configuration is never used by itself (a record, which a shared store or a
            bundle may have written, never chooses what C(ssh) runs on this controller).
        type: path
"""

    NONE = r"""
options:
  none:
    description:
      - Options of the V(none) driver, an existing Docker engine that is only registered (the original's C(--url)).
      - Nothing is installed or changed on the engine's host; O(state=present) checks the engine over TLS.
    type: dict
    suboptions:
      url:
        description:
          - The engine's URL, V(tcp://HOST:PORT).
          - V(HOST:PORT) without a scheme is read as V(tcp://HOST:PORT), as Docker reads E(DOCKER_HOST), and recorded so.
        type: str
        required: true
      ca_cert:
        description:
          - CA certificate that signed the engine's certificate. With O(none.client_cert) and O(none.client_key), these files
            are copied into the machine's folder and used instead of the store's CA and client certificate.
          - Without them the engine must trust the store's CA.
        type: path
      client_cert:
        description: Client certificate the engine accepts. Requires O(none.ca_cert) and O(none.client_key).
        type: path
      client_key:
        description: Key of O(none.client_cert). Copied with mode 0600.
        type: path
"""

    AMAZONEC2 = r"""
options:
  amazonec2:
    description:
      - Options of the V(amazonec2) driver, an AWS EC2 instance this collection launches (the original's C(--amazonec2-*) flags).
      - The region, endpoint and credentials are the standard AWS options (O(region), O(endpoint_url), O(access_key),
        O(secret_key), O(session_token), O(profile)), which C(module_defaults) of C(group/amazon.aws.aws) supply, or the
        environment's C(AWS_*) variables. They are never written to the store.
      - Each resource a create makes (key pair, security group, instance, Elastic IP) is recorded in the store before the
        next one is made. A create that fails at any step can be run again to resume, or removed with O(state=absent),
        which removes every one of them.
      - Everything created is tagged C(Name=NAME) and C(dockyard-machine=NAME), plus O(amazonec2.tags); the instance's
        volumes too.
    type: dict
    suboptions:
      ami:
        description:
          - The image to launch. Without it, the newest Ubuntu LTS image of O(amazonec2.ami_owners) for the instance type's
            architecture (V(x86_64), or V(arm64) for Graviton types such as V(t4g.small)) is looked up at create time.
        type: str
      ami_owners:
        description: Owners whose images the lookup of O(amazonec2.ami) considers; Canonical's account by default.
        type: list
        elements: str
        default: ["099720109477"]
      instance_type:
        description: Instance type.
        type: str
        default: t3.micro
      vpc_id:
        description: VPC to launch in. Without it and without O(amazonec2.subnet_id), the region's default VPC.
        type: str
      subnet_id:
        description:
          - Subnet to launch in. Without it, the VPC's subnet in O(amazonec2.zone) (its default one when there are several).
        type: str
      zone:
        description: Availability zone, as a letter appended to the region (V(a)) or a full zone name (V(us-east-1a)).
        type: str
        default: a
      security_groups:
        description:
          - Names or IDs of existing security groups to use as they are. They are never changed or deleted.
          - Without them, a group of the machine's own is created with ingress on the SSH port, the engine port (2376) and
            O(amazonec2.open_ports) from O(amazonec2.security_group_cidrs), and deleted with the machine. The original
            instead opened a shared C(docker-machine) group to the world.
        type: list
        elements: str
        default: []
      security_group_cidrs:
        description:
          - Source CIDR blocks (IPv4 or IPv6) of the ingress rules of the machine's own security group. Narrow them to
            your addresses; the engine port only accepts clients with a certificate of the store's CA anyway.
        type: list
        elements: str
        default: ["0.0.0.0/0"]
      open_ports:
        description: Further ports to open in the machine's own group, V(PORT) or V(PORT/PROTOCOL) (V(tcp), V(udp)).
        type: list
        elements: str
        default: []
      elastic_ip:
        description:
          - Allocate an Elastic IP for the machine and associate it, so its address (and server certificate) never
            changes across stop and start. It is released with the machine.
        type: bool
        default: false
      ssh_user:
        description: SSH user of the image (V(ubuntu) for Ubuntu's).
        type: str
        default: ubuntu
      ssh_port:
        description: SSH port (also the port of the ingress rule).
        type: int
        default: 22
      ssh_keypath:
        description:
          - An existing private key to log in with; copied into the machine folder as C(id_rsa) (0600). Its C(.pub) is
            imported as the machine's key pair unless O(amazonec2.keypair_name) is set.
          - Without it, a new key (O(amazonec2.key_type)) is made in the machine folder and imported.
        type: path
      keypair_name:
        description: An existing EC2 key pair whose private key is O(amazonec2.ssh_keypath). It is never deleted.
        type: str
      key_type:
        description: Type of the key made when O(amazonec2.ssh_keypath) is not given.
        type: str
        choices: [ed25519, rsa]
        default: ed25519
      tags:
        description:
          - Further tags of the instance, its volumes and everything else the create makes.
          - A key or value may not hold a comma (the record keeps tags as the original's V(key,value,key,value) text),
            and V(Name) and V(dockyard-machine) are the machine's own tags.
        type: dict
        default: {}
      request_spot_instance:
        description: Launch a one-time spot instance instead of an on-demand one.
        type: bool
        default: false
      spot_price:
        description: Highest price per hour in US dollars for a spot instance. Without it, the on-demand price is the cap.
        type: str
      use_private_address:
        description: Reach the machine on its private address (the instance still gets a public one when the subnet gives it).
        type: bool
        default: false
      private_address_only:
        description: Launch without a public address, and reach the machine on its private one.
        type: bool
        default: false
      iam_instance_profile:
        description: Name of the IAM instance profile to attach.
        type: str
      user_data:
        description:
          - A file (at most 16 KiB) passed to the instance as user data (cloud-init), as it is.
          - Only the task's file is read; the path a record keeps is never read again.
        type: path
      root_size:
        description: Size of the root volume in GiB.
        type: int
        default: 16
      volume_type:
        description: Type of the root volume.
        type: str
        default: gp3
      device_name:
        description: Device name of the root volume. Without it, the image's own root device name.
        type: str
      monitoring:
        description: CloudWatch detailed monitoring.
        type: bool
        default: false
      use_ebs_optimized_instance:
        description: Launch an EBS-optimized instance.
        type: bool
        default: false
      metadata_tokens:
        description:
          - Whether the instance metadata service needs session tokens (IMDSv2, V(required)) or also answers without them.
          - GitLab's fork's C(--amazonec2-metadata-token).
        type: str
        choices: [required, optional]
        default: required
      metadata_hop_limit:
        description:
          - How many network hops the metadata service's token answer may travel (EC2's C(HttpPutResponseHopLimit), 1 to 64).
          - With the default of 1, containers on the machine (one hop further) cannot get a token; set V(2) for them, as
            GitLab Runner's configurations do.
          - GitLab's fork's C(--amazonec2-metadata-token-response-hop-limit).
        type: int
        default: 1
      security_group_readonly:
        description:
          - The original's C(--amazonec2-security-group-readonly) (do not add rules to the security groups). Accepted so that
            its command lines run; it changes nothing, because groups named in O(amazonec2.security_groups) are never
            changed anyway.
          - V(true) needs O(amazonec2.security_groups), because the machine's own group, made without them, needs its rules.
        type: bool
        default: false
      insecure_transport:
        description:
          - The original's C(--amazonec2-insecure-transport) (no TLS to a custom endpoint). Accepted so that its command lines
            run; the scheme of O(endpoint_url) decides, so it changes nothing.
          - With V(true), an O(endpoint_url) must start with V(http://); without one (AWS's own endpoints always use TLS) it
            changes nothing either. Recorded as the original's C(DisableSSL).
        type: bool
        default: false
      retries:
        description:
          - The original's C(--amazonec2-retries) (the AWS SDK's retry count; V(-1) for none). Accepted and recorded as its
            C(RetryCount); it changes nothing, as calls that EC2 throttles, or that name a resource it does not show everywhere
            yet, back off 5 times.
        type: int
        default: 5
      block_duration_minutes:
        description:
          - The original's C(--amazonec2-block-duration-minutes) (a Spot block, a spot instance for a fixed 60 to 360
            minutes). Accepted and recorded as its C(BlockDurationMinutes), never sent, as EC2 no longer offers Spot blocks, so
            a spot instance (O(amazonec2.request_spot_instance)) runs until it is interrupted or removed.
          - V(0), or V(60), V(120), V(180), V(240), V(300) or V(360).
        type: int
        default: 0
      proxy_jump:
        description: Jump host(s) for SSH, as C(ssh -J) takes them, for example for O(amazonec2.private_address_only).
        type: str
      ssh_config:
        description: An SSH client configuration file to use instead of C(~/.ssh/config) (C(ssh -F)) in this task.
        type: path
      instance_id:
        description:
          - Adopt this existing instance instead of launching one, for a machine the store does not know (a store that
            was lost, or a machine made by another tool). The record is rebuilt from EC2, the server certificate is
            issued from this store's CA and installed over SSH; running containers keep running.
          - Needs O(amazonec2.ssh_keypath), the private key of the instance's key pair.
          - What a create of this collection made for the machine (tagged C(dockyard-machine=NAME)) is removed with it
            by O(state=absent); the instance is terminated; key pairs and groups of others are never deleted.
        type: str
      adopt:
        description:
          - Like O(amazonec2.instance_id), with the instance found by its C(Name) tag, which must be the machine's name
            (this collection and the original tag instances so). Exactly one live instance must have it.
        type: bool
        default: false
"""

    DIGITALOCEAN = r"""
options:
  digitalocean_access_token:
    description:
      - The DigitalOcean API token (read and write scopes) for the V(digitalocean) driver, with every O(state). Defaults to
        E(DIGITALOCEAN_ACCESS_TOKEN) (AWX - the credential type C(awx/credential_types/digitalocean_token.yml) sets it).
      - It is never written to the store.
    type: str
  digitalocean_api_url:
    description:
      - The DigitalOcean API's URL for the V(digitalocean) driver, for an emulator in tests; default
        V(https://api.digitalocean.com).
      - A machine made through another URL records it, and later tasks must name the same one, with every O(state) (a
        record never chooses where the token is sent).
    type: str
  digitalocean:
    description:
      - Options of the V(digitalocean) driver, a DigitalOcean droplet this collection creates (the original's
        C(--digitalocean-*) flags).
      - The access token is O(digitalocean_access_token) or the environment's E(DIGITALOCEAN_ACCESS_TOKEN). It is never
        written to the store (records the original wrote keep theirs in C(AccessToken), which is neither used nor shown).
      - Each resource a create makes (SSH key, droplet, firewall, reserved IP) is recorded in the store before the next one
        is made. A create that fails at any step can be run again to resume, or removed with O(state=absent), which
        removes every one of them and never a key, firewall or reserved IP of yours.
      - The droplet is tagged V(dockyard-machine) and V(dockyard-machine:NAME), plus O(digitalocean.tags). O(state=stopped),
        O(state=started) and O(state=restarted) use droplet actions (C(shutdown), or C(power_off) with O(force),
        C(power_on), C(reboot)) and wait for them; a droplet that comes back on another address gets a new server
        certificate in the same task.
    type: dict
    suboptions:
      backups:
        description: Enable backups for the droplet.
        type: bool
        default: false
      image:
        description: The image's slug (the original's default, V(ubuntu-16-04-x64), is no longer served).
        type: str
        default: ubuntu-24-04-x64
      ipv6:
        description: Enable IPv6 for the droplet.
        type: bool
        default: false
      monitoring:
        description: Enable monitoring for the droplet.
        type: bool
        default: false
      private_networking:
        description: Enable private networking for the droplet.
        type: bool
        default: false
      region:
        description: The region's slug; a create checks that DigitalOcean has it and offers O(digitalocean.size) there.
        type: str
        default: nyc3
      size:
        description: The size's slug.
        type: str
        default: s-1vcpu-1gb
      ssh_key_fingerprint:
        description:
          - Fingerprint of an SSH key already in your DigitalOcean account, to create the droplet with. It is never deleted.
          - Give its private key as O(digitalocean.ssh_key_path); without it, C(ssh) uses your agent and default keys.
        type: str
      ssh_key_path:
        description:
          - Private key to log in with, copied into the machine's folder (0600). Without O(digitalocean.ssh_key_fingerprint)
            its public half (C(KEY.pub)) is imported as the machine's own SSH key, which O(state=absent) deletes.
          - Without both, a key is made in the machine's folder and imported.
        type: path
      ssh_port:
        description: SSH port.
        type: int
        default: 22
      ssh_user:
        description: SSH user.
        type: str
        default: root
      tags:
        description: Tags for the droplet; an entry may be the original's comma-separated list.
        type: list
        elements: str
        default: []
      userdata:
        description: A file with cloud-init user data (at most 64 KiB).
        type: path
      reserved_ip:
        description:
          - A reserved IP of the machine's own, assigned to the droplet. Its address, and so its certificate, never changes
            across stop and start. O(state=absent) releases it.
        type: bool
        default: false
      reserved_ip_address:
        description: An existing reserved IP of yours to assign to the droplet and use as its address. It is never released.
        type: str
      firewall_cidrs:
        description:
          - A cloud firewall of the machine's own, opening SSH (O(digitalocean.ssh_port)) and the engine's port 2376 to
            these CIDR blocks, all outbound traffic allowed. O(state=absent) deletes it. Its rules are set when it is made.
          - Empty, no firewall is made (the original's droplets are open).
        type: list
        elements: str
        default: []
      firewalls:
        description: IDs of existing cloud firewalls of yours to add the droplet to. They are not changed otherwise.
        type: list
        elements: str
        default: []
      adopt:
        description:
          - Take over an existing droplet instead of creating one (a store that was lost), with O(digitalocean.ssh_key_path)
            its private key. The droplet tagged V(dockyard-machine:NAME) is taken, else the one named NAME; exactly one must match.
          - The SSH key and firewall a create made for it become the machine's again (O(state=absent) deletes them); a
            reserved IP assigned to it is used and never released.
        type: bool
        default: false
"""
