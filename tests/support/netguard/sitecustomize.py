# Network rule for the test suite: tests may only reach 127.0.0.0/8 (and ::1).
#
# Python imports `sitecustomize` at start-up from sys.path, so putting this directory on
# PYTHONPATH guards every Python process the tests start (pytest, ansible-playbook, modules run
# on localhost, moto). The guard is active only with DOCKYARD_NETGUARD=1, so the same PYTHONPATH
# does no harm elsewhere. AF_UNIX (the Docker socket) and other non-IP families are untouched.
import ipaddress
import os
import socket

ENV = "DOCKYARD_NETGUARD"
_MARK = "_dockyard_netguard"
_originals = {}


def _is_loopback(host, family):
    """True when every address `host` stands for is loopback (127.0.0.0/8 or ::1)."""
    try:
        addrs = [ipaddress.ip_address(host.split("%", 1)[0])]  # drop an IPv6 scope id
    except ValueError:
        # A name such as "localhost": judge what it resolves to, as connect() would use it.
        try:
            infos = socket.getaddrinfo(host, None, family)
        except socket.gaierror:
            return False
        addrs = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for addr in addrs:
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is IPv4 loopback
        if addr.version == 4 and addr not in ipaddress.ip_network("127.0.0.0/8"):
            return False
        if addr.version == 6 and addr != ipaddress.ip_address("::1"):
            return False
    return bool(addrs)


def allowed(family, address):
    """Whether the rule lets a socket of `family` reach `address`."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return isinstance(host, str) and _is_loopback(host, family)


def _check(sock, address):
    if not allowed(sock.family, address):
        raise PermissionError(
            "dockyard test network rule: refusing to connect to %r; "
            "tests may only reach 127.0.0.0/8" % (address,)
        )


def _wrap(name, addr_of):
    original = getattr(socket.socket, name)

    def guarded(self, *args):
        _check(self, addr_of(args))
        return original(self, *args)

    guarded.__name__ = name
    setattr(guarded, _MARK, True)
    _originals[name] = original
    setattr(socket.socket, name, guarded)


def install():
    """Patch socket.socket; create_connection and asyncio go through these methods too."""
    if getattr(socket.socket.connect, _MARK, False):
        return
    _wrap("connect", lambda args: args[0])
    _wrap("connect_ex", lambda args: args[0])
    # UDP without connect(): sendto(data, address) or sendto(data, flags, address).
    _wrap("sendto", lambda args: args[-1])


def uninstall():
    for name, original in _originals.items():
        setattr(socket.socket, name, original)
    _originals.clear()


def installed():
    return getattr(socket.socket.connect, _MARK, False)


if os.environ.get(ENV) == "1":
    install()
