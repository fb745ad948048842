"""The ``neutron`` network driver: ports and networks of a real Neutron.

It talks to the Neutron API with keystoneauth, using the service
credentials of the ``[neutron]`` section, as Nova does. Ports are created
and bound with the server's project, ``device_id``, ``device_owner``
(``compute:<availability zone>``) and ``binding:host_id``.

Claiming a free port is a compare-and-swap: the update carries
``If-Match: revision_number=N`` of the port as read, so a claim of a port
that changed since it was read (bound by someone else) is answered 412
and refused. Neutron's check is not atomic for updates in flight at the
same moment, though, so the claim is read back too; within one deployment
the attachments table settles concurrent claims before Neutron is asked.

Reads (GET) are retried on connection failures and on 503, as configured
by ``connect_retries`` / ``status_code_retries``; writes are never
repeated, since a write that timed out may have happened. Neutron
unreachable or not answering in time raises ServiceUnavailable.
"""

import dataclasses
from urllib import parse

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
import netaddr
from oslo_log import log as logging

from interface_attach.conf import neutron as neutron_conf
from interface_attach import exception
from interface_attach.network import base

LOG = logging.getLogger(__name__)

# Retries of an idempotent read when the options leave them unset.
DEFAULT_READ_RETRIES = 2
# Times a claim or release is retried when the port changed under it
# without being taken (412 with the port still free).
CAS_ATTEMPTS = 3
# Neutron statuses that mean "not now": answered as 503.
UNAVAILABLE_STATUSES = (502, 503, 504)
RETRY_AFTER = 30

BINDING_FAILED = 'binding_failed'
# Tag of a port created for the id compute reserved (Neutron chooses ids).
RESERVED_TAG = 'interface-attach-reserved-%s'


@dataclasses.dataclass(frozen=True)
class NeutronPort(base.Port):
    """A Port with what the driver needs to update it safely."""

    revision_number: int = None
    vif_type: str = None


class NeutronError(Exception):
    """Neutron refused a request in a way that is not the user's fault."""

    def __init__(self, method, path, status, kind, message):
        super().__init__('Neutron %s %s: %s %s: %s'
                         % (method, path, status, kind, message))
        self.status = status
        self.kind = kind


class PortBindingFailed(Exception):
    def __init__(self, port_id, host):
        super().__init__('Binding of port %s on host %s failed'
                         % (port_id, host))


class NeutronDriver(base.NetworkDriver):

    def __init__(self, conf, database):
        super().__init__(conf, database)
        neutron_conf.register_opts(conf)
        group = neutron_conf.GROUP
        auth = ks_loading.load_auth_from_conf_options(conf, group)
        session = ks_loading.load_session_from_conf_options(
            conf, group, auth=auth)
        self.client = ks_loading.load_adapter_from_conf_options(
            conf, group, session=session, auth=auth)
        self._tag_on_create = None
        options = conf[group]
        self._read_retries = dict(
            connect_retries=_or_default(options.connect_retries),
            status_code_retries=_or_default(options.status_code_retries))

    # Reads

    def get_port(self, port_id):
        status, body = self._get('/v2.0/ports/%s' % parse.quote(port_id))
        if status == 404:
            raise exception.PortNotFound(port_id=port_id)
        return _port(body['port'])

    def list_server_ports(self, server):
        status, body = self._get('/v2.0/ports?' + parse.urlencode(
            {'device_id': server.id}))
        ports = sorted(body['ports'], key=lambda p: (p.get('created_at')
                                                     or '', p['id']))
        return [_port(port) for port in ports]

    def get_network(self, network_id, project_id):
        status, body = self._get('/v2.0/networks/%s'
                                 % parse.quote(network_id))
        if status == 404:
            raise exception.NetworkNotFound(network_id=network_id)
        network = _network(body['network'])
        if not (network.shared or network.project_id == project_id):
            raise exception.NetworkNotFound(network_id=network_id)
        return network

    def list_available_networks(self, project_id):
        """The project's own networks, then the shared ones (as Nova)."""
        networks = []
        for query in ({'project_id': project_id, 'shared': 'False'},
                      {'shared': 'True'}):
            _, body = self._get('/v2.0/networks?' + parse.urlencode(query))
            networks.extend(_network(net) for net in body['networks'])
        return networks

    def check_fixed_ip(self, network_id, address):
        """Refuse an address Neutron would refuse on the network.

        For a caller that must refuse before anything is written (Nova
        mode: before the call to the compute host).

        :raises FixedIpInvalidForNetwork: in no subnet of the network.
        :raises FixedIpAlreadyInUse: a port of the network holds it.
        """
        _, body = self._get('/v2.0/subnets?' + parse.urlencode(
            {'network_id': network_id, 'fields': 'cidr'}))
        ip = netaddr.IPAddress(address)
        if not any(ip in netaddr.IPNetwork(subnet['cidr'])
                   for subnet in body['subnets']):
            raise exception.FixedIpInvalidForNetwork(address=address,
                                                     network_id=network_id)
        _, body = self._get('/v2.0/ports?' + parse.urlencode(
            {'network_id': network_id, 'fields': 'id',
             'fixed_ips': 'ip_address=%s' % address}))
        if body['ports']:
            raise exception.FixedIpAlreadyInUse(address=address)

    # Writes

    def claim_port(self, port, server):
        """Bind a free port; If-Match makes the claim a compare-and-swap."""
        for _ in range(CAS_ATTEMPTS):
            if port.device_id:
                raise exception.PortInUse(port_id=port.id)
            status, body = self._write(
                'PUT', '/v2.0/ports/%s' % port.id,
                {'port': _binding(server)},
                headers=_if_match(port.revision_number))
            if status == 404:
                raise exception.PortNotFound(port_id=port.id)
            if status != 412:
                return self._check_claim(_port(body['port']), server)
            # Changed since it was read: taken, or just touched.
            LOG.info('Port %s changed since it was read (412); reading it '
                     'again', port.id)
            port = self.get_port(port.id)
        raise exception.PortInUse(port_id=port.id)

    def _check_claim(self, claimed, server):
        """The claimed port, read back: still ours, and bound.

        Neutron checks If-Match before its transaction writes, so two
        updates in flight at once may both pass it (the later one wins).
        Reading the port back catches a claim overwritten before the read;
        the attachments table, shared by every worker, is what settles
        races between workers of one deployment.
        """
        current = self.get_port(claimed.id)
        if current.device_id != server.id:
            raise exception.PortInUse(port_id=claimed.id)
        if current.vif_type == BINDING_FAILED:
            # The caller unbinds it (release_port) as it rolls back.
            raise PortBindingFailed(claimed.id, server.host)
        return current

    def create_port(self, port_id, network, server, fixed_ip=None):
        """Create and bind a port; Neutron chooses its id, not ``port_id``."""
        values = dict(_binding(server), network_id=network.id,
                      project_id=server.project_id, admin_state_up=True)
        if fixed_ip is not None:
            values['fixed_ips'] = [{'ip_address': fixed_ip}]
        if self._can_tag_on_create():
            # If the answer is lost (a timeout), the rollback's
            # delete_port(port_id) still finds the port by this tag.
            values['tags'] = [RESERVED_TAG % port_id]
        try:
            status, body = self._write('POST', '/v2.0/ports',
                                       {'port': values})
        except NeutronError as e:
            raise _create_error(e, network, fixed_ip) or e
        created = _port(body['port'])
        if created.vif_type == BINDING_FAILED:
            # Nobody else knows this port's id: delete it here.
            self.delete_port(created.id)
            raise PortBindingFailed(created.id, server.host)
        return created

    def release_port(self, port_id, server):
        for _ in range(CAS_ATTEMPTS):
            try:
                port = self.get_port(port_id)
            except exception.PortNotFound:
                return
            if port.device_id != server.id:
                return
            status, _ = self._write(
                'PUT', '/v2.0/ports/%s' % port_id,
                {'port': {'device_id': '', 'device_owner': '',
                          'binding:host_id': None}},
                headers=_if_match(port.revision_number))
            if status != 412:
                return
        raise NeutronError('PUT', '/v2.0/ports/%s' % port_id, 412,
                           'RevisionNumberConstraintFailed',
                           'port kept changing while being released')

    def delete_port(self, port_id):
        """Delete a port by its id, or by the id compute reserved for it."""
        status, _ = self._write('DELETE', '/v2.0/ports/%s' % port_id, None)
        if status == 404 and self._can_tag_on_create():
            _, body = self._get('/v2.0/ports?' + parse.urlencode(
                {'tags': RESERVED_TAG % port_id, 'fields': 'id'}))
            for port in body['ports']:
                LOG.info('Deleting port %(port)s, created for reserved id '
                         '%(reserved)s', {'port': port['id'],
                                          'reserved': port_id})
                self._write('DELETE', '/v2.0/ports/%s' % port['id'], None)

    def _can_tag_on_create(self):
        """Whether Neutron keeps tags given in a port create.

        That is ML2's ``tag_ports_during_bulk_creation`` extension driver
        (alias ``tag-ports-during-bulk-creation``, single creates too).
        """
        if self._tag_on_create is None:
            status, _ = self._get(
                '/v2.0/extensions/tag-ports-during-bulk-creation')
            self._tag_on_create = status == 200
        return self._tag_on_create

    # HTTP

    def _get(self, path):
        """(status, body) of a read: 200, or 404; retried when allowed."""
        return self._request('GET', path, None, None, (200, 404),
                             **self._read_retries)

    def _write(self, method, path, body, headers=None):
        """(status, body) of a write; never repeated: it may have happened.

        200/201/204 are answered, and 404 and 412, which the caller
        interprets; any other error raises NeutronError.
        """
        return self._request(method, path, body, headers,
                             (200, 201, 204, 404, 412),
                             connect_retries=0, status_code_retries=0)

    def _request(self, method, path, body, headers, expected, **retries):
        try:
            response = self.client.request(
                path, method, json=body, headers=headers, raise_exc=False,
                **retries)
        except ks_exc.ConnectionError as e:
            # ConnectTimeout includes a response that never came: a write
            # may or may not have happened, so none is repeated here.
            LOG.warning('Neutron %(method)s %(path)s failed: %(error)s',
                        {'method': method, 'path': path, 'error': e})
            raise exception.ServiceUnavailable(service='network',
                                               retry_after=RETRY_AFTER)
        status = response.status_code
        if status in UNAVAILABLE_STATUSES:
            LOG.warning('Neutron %(method)s %(path)s: %(status)s',
                        {'method': method, 'path': path, 'status': status})
            raise exception.ServiceUnavailable(
                service='network',
                retry_after=_retry_after(response) or RETRY_AFTER)
        if status not in expected:
            kind, message = _neutron_error(response)
            raise NeutronError(method, path, status, kind, message)
        if status == 204 or not response.content:
            return status, None
        return status, response.json()


def _or_default(retries):
    return DEFAULT_READ_RETRIES if retries is None else retries


def _if_match(revision_number):
    if revision_number is None:
        return None
    return {'If-Match': 'revision_number=%d' % revision_number}


def _binding(server):
    values = {'device_id': server.id,
              'device_owner': 'compute:%s' % server.availability_zone}
    if server.host:
        values['binding:host_id'] = server.host
    return values


def _create_error(error, network, fixed_ip):
    """The domain exception for a refused port create, if there is one."""
    if error.kind in ('IpAddressAlreadyAllocated', 'IpAddressInUse'):
        return exception.FixedIpAlreadyInUse(address=fixed_ip)
    if error.kind == 'InvalidIpForNetwork' or (
            error.kind == 'InvalidInput' and fixed_ip is not None):
        return exception.FixedIpInvalidForNetwork(address=fixed_ip,
                                                  network_id=network.id)
    if error.kind == 'IpAddressGenerationFailure':
        return exception.NoMoreFixedIps(network_id=network.id)
    if error.kind == 'OverQuota':
        return exception.PortLimitExceeded()
    if error.kind == 'NetworkNotFound':
        return exception.NetworkNotFound(network_id=network.id)
    return None


def _neutron_error(response):
    """(type, message) of a Neutron error body."""
    try:
        error = response.json().get('NeutronError') or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        return 'Unknown', str(error)
    return error.get('type', 'Unknown'), error.get('message', '')


def _retry_after(response):
    value = response.headers.get('Retry-After', '')
    return int(value) if value.isdigit() else None


def _port(port):
    return NeutronPort(
        id=port['id'],
        project_id=port.get('project_id') or port.get('tenant_id'),
        network_id=port['network_id'],
        mac_address=port['mac_address'],
        device_id=port.get('device_id') or '',
        status=port['status'],
        fixed_ips=tuple({'subnet_id': ip['subnet_id'],
                         'ip_address': ip['ip_address']}
                        for ip in port.get('fixed_ips', ())),
        revision_number=port.get('revision_number'),
        vif_type=port.get('binding:vif_type'))


def _network(network):
    return base.Network(
        id=network['id'],
        project_id=network.get('project_id') or network.get('tenant_id'),
        name=network.get('name', ''), shared=bool(network.get('shared')))
