"""The compute service: server lookup, lock and state checks, and attach.

It orchestrates the attachment store and the network driver, and undoes
what a failed attach did. It raises domain exceptions only; the API layer
turns them into HTTP.
"""

import types
import uuid

from oslo_log import log as logging
from oslo_utils import uuidutils

from interface_attach.db import attachments
from interface_attach.db import engine
from interface_attach.db import servers
from interface_attach import exception
from interface_attach import faultpoints

LOG = logging.getLogger(__name__)

ATTACHABLE_VM_STATES = frozenset(['active', 'paused', 'stopped'])


def canonical_uuid(value):
    """The lower-case, hyphenated form of a UUID-like string, else None."""
    if isinstance(value, str) and uuidutils.is_uuid_like(value):
        return str(uuid.UUID(value))
    return None


class ComputeService:

    def __init__(self, database, driver, allow_duplicate_networks):
        self._db = database
        self.servers = servers.ServerStore(database)
        self.attachments = attachments.AttachmentStore(
            database, allow_duplicate_networks)
        self.driver = driver

    def get_server(self, context, server_id):
        """The server, if the caller may see it (its project, or admin).

        :raises ServerNotFound: absent, deleted or not visible.
        """
        canonical = canonical_uuid(server_id)
        if canonical is None:
            raise exception.ServerNotFound(server_id=server_id)
        server = self.servers.get(canonical)
        if not context.is_admin and server.project_id != context.project_id:
            raise exception.ServerNotFound(server_id=server_id)
        return server

    @staticmethod
    def check_can_change_interfaces(context, server, action):
        """Nova's lock, then vm_state, task_state and launched checks.

        :raises ServerLocked: locked, and the caller is not an admin.
        :raises ServerInvalidState: not active, paused or stopped, busy with
            a task, or never launched.
        """
        if server.locked and not context.is_admin:
            raise exception.ServerLocked(server_id=server.id)
        for attr, state, allowed in (
                ('vm_state', server.vm_state,
                 server.vm_state in ATTACHABLE_VM_STATES),
                ('task_state', server.task_state, server.task_state is None),
                ('launched_at', None, server.launched_at is not None)):
            if not allowed:
                raise exception.ServerInvalidState(
                    action=action, server_id=server.id, attr=attr,
                    state=state)

    def attach_interface(self, server, network_id=None, port_id=None,
                         fixed_ip=None, tag=None):
        """Attach an existing port, or a new port on a network.

        :returns: the attached Port.
        :raises DriverNotSupported: the network driver cannot attach.
        :raises AttachFailed: the driver failed; nothing is left behind.
        """
        # What the log line names, filled in as the attach learns it.
        known = {'port': port_id, 'network': network_id}
        try:
            port = self._attach(server, network_id, port_id, fixed_ip, tag,
                                known)
        except NotImplementedError:
            self._log_attach(server, known, 'not supported')
            raise exception.DriverNotSupported()
        except exception.OperationTakenOver:
            self._log_attach(server, known, 'taken over by recovery')
            raise exception.AttachFailed()
        except exception.InterfaceAttachError as e:
            self._log_attach(server, known, 'refused: %s' % e)
            raise
        except Exception:
            LOG.exception('Attach to server %s failed', server.id)
            self._log_attach(server, known, 'failed')
            raise exception.AttachFailed()
        self._log_attach(server, known, 'attached')
        return port

    def _attach(self, server, network_id, port_id, fixed_ip, tag, known):
        if port_id is not None:
            port = self.driver.get_port(port_id)
            known['network'] = network_id = port.network_id
            if port.project_id != server.project_id:
                raise exception.PortNotUsable(port_id=port_id,
                                              server_id=server.id)
            if port.device_id:
                raise exception.PortInUse(port_id=port_id)
            network = None
        else:
            port = None
            network = (self.driver.get_network(network_id, server.project_id)
                       if network_id is not None
                       else self._only_network(server))
            known['network'] = network_id = network.id
            known['port'] = port_id = uuidutils.generate_uuid()

        if self.driver.shares_database:
            return self._attach_at_once(server, port, network, port_id,
                                        network_id, fixed_ip, tag)
        return self._attach_in_steps(server, port, network, port_id,
                                     network_id, fixed_ip, tag, known)

    @engine.retried
    def _attach_at_once(self, server, port, network, port_id, network_id,
                        fixed_ip, tag):
        """The attachment and the port in one transaction.

        A failure or a crash at any point leaves nothing behind, so there
        is nothing for recovery to do.
        """
        with self._db.writer():
            self.attachments.add(server.id, port_id, network_id,
                                 port_created=network is not None, tag=tag)
            faultpoints.hit('attach:reserved')
            if network is not None:
                attached = self.driver.create_port(port_id, network, server,
                                                   fixed_ip)
            else:
                attached = self.driver.claim_port(port, server)
            faultpoints.hit('attach:bound')
        return attached

    def _attach_in_steps(self, server, port, network, port_id, network_id,
                         fixed_ip, tag, known):
        """Reserve, let the driver act, confirm; undo on failure.

        The reservation names what to undo if the process dies before the
        confirmation: recovery then finishes the job.
        """
        created = network is not None
        owner = attachments.new_owner()
        self.attachments.reserve(server.id, port_id, network_id,
                                 port_created=created, owner=owner, tag=tag)
        faultpoints.hit('attach:reserved')
        try:
            if created:
                attached = self.driver.create_port(port_id, network, server,
                                                   fixed_ip)
                if attached.id != port_id:
                    # The back end chose the id (Neutron does): re-key.
                    self._rekey(port_id, attached.id, owner)
                    known['port'] = port_id = attached.id
            else:
                attached = self.driver.claim_port(port, server)
            faultpoints.hit('attach:bound')
            self.attachments.confirm(port_id, owner)
        except exception.WriteOutcomeUnknown:
            # Whether the confirmation landed is not known: undone now, an
            # attach that had been confirmed would lose its port. The row
            # says which: left 'attaching', recovery undoes it.
            raise
        except BaseException:
            self._undo_attach(server, port_id, created, owner)
            raise
        return attached

    def list_interfaces(self, server):
        """[(port, tag)] of the ports bound to the server.

        :raises DriverNotSupported: the network driver cannot list ports.
        """
        rows = self.attachments.list_for_server(server.id)
        tags = {row.port_id: row.tag for row in rows}
        position = {row.port_id: i for i, row in enumerate(rows)}
        try:
            ports = self.driver.list_server_ports(server)
        except NotImplementedError:
            raise exception.DriverNotSupported()
        # In attach order; ports bound without an attachment last.
        ports = sorted(ports, key=lambda port: position.get(port.id,
                                                            len(rows)))
        return [(port, tags.get(port.id)) for port in ports]

    def show_interface(self, server, port_id):
        """(port, tag) of a port attached to the server.

        :raises PortNotAttached: that port is not attached to that server.
        """
        attachment = self.attachments.get(server.id, port_id)
        try:
            port = self.driver.get_port(port_id)
        except NotImplementedError:
            raise exception.DriverNotSupported()
        except exception.PortNotFound:
            raise exception.PortNotAttached(server_id=server.id,
                                            port_id=port_id)
        return port, attachment.tag

    def detach_interface(self, server, port_id):
        """Unbind a port that existed before the attach; delete one it made.

        If the driver fails, the port stays attached as it was.

        :raises PortNotAttached, DriverNotSupported, DetachFailed:
        """
        try:
            if self.driver.shares_database:
                attachment = self._detach_at_once(server, port_id)
            else:
                attachment = self._detach_in_steps(server, port_id)
        except NotImplementedError:
            raise exception.DriverNotSupported()
        except exception.InterfaceAttachError:
            raise
        except Exception:
            LOG.exception('Detach of port %(port)s from server %(server)s '
                          'failed', {'port': port_id, 'server': server.id})
            raise exception.DetachFailed(server_id=server.id)
        LOG.info('Detach interface: server %(server)s port %(port)s network '
                 '%(network)s: %(outcome)s',
                 {'server': server.id, 'port': port_id,
                  'network': attachment.network_id,
                  'outcome': 'deleted' if attachment.port_created
                  else 'unbound'})

    @engine.retried
    def _detach_at_once(self, server, port_id):
        """The attachment removed and the port released in one transaction.

        :returns: the attachment row as it was.
        """
        with self._db.writer():
            attachment = self.attachments.remove_attached(server.id, port_id)
            faultpoints.hit('detach:started')
            self.release(server, port_id, attachment.port_created)
            faultpoints.hit('detach:released')
        return attachment

    def _detach_in_steps(self, server, port_id):
        """Move the attachment to 'detaching', release, then remove it.

        Two detaches of one port cannot both act; recovery finishes a
        detach whose process died.

        :returns: the attachment row, 'detaching'.
        """
        owner = attachments.new_owner()
        attachment = self.attachments.start_detach(server.id, port_id, owner)
        faultpoints.hit('detach:started')
        try:
            self.release(server, port_id, attachment.port_created)
        except BaseException:
            # Attached as before; if recovery took the row over, it will
            # finish the detach instead.
            self._revert_detach(port_id, owner)
            raise
        faultpoints.hit('detach:released')
        self.attachments.remove(port_id, owner)
        return attachment

    def _only_network(self, server):
        available = self.driver.list_available_networks(server.project_id)
        if not available:
            raise exception.NoNetworkAvailable(project_id=server.project_id)
        if len(available) > 1:
            raise exception.NetworkAmbiguous()
        return available[0]

    def _revert_detach(self, port_id, owner):
        try:
            self.attachments.confirm(port_id, owner)
        except exception.OperationTakenOver:
            pass

    def recover(self, row, owner):
        """Undo the attach or finish the detach of a row taken over.

        :returns: what was done, for the recovery's log line.
        """
        try:
            server = self.servers.get(row.server_id)
        except exception.ServerNotFound:
            server = types.SimpleNamespace(id=row.server_id)
        self.release(server, row.port_id, row.port_created)
        self.attachments.remove(row.port_id, owner)
        return ('undid the attach' if row.state == 'attaching'
                else 'finished the detach')

    def release(self, server, port_id, port_created):
        """Give a port back: delete it if an attach made it, else unbind."""
        if port_created:
            self.driver.delete_port(port_id)
        else:
            self.driver.release_port(port_id, server)

    def _rekey(self, reserved_id, port_id, owner):
        """Key the attachment by the port's real id; else delete the port."""
        try:
            self.attachments.rekey(reserved_id, port_id, owner)
        except BaseException:
            self.driver.delete_port(port_id)
            raise

    def _undo_attach(self, server, port_id, created, owner):
        try:
            self.release(server, port_id, created)
            self.attachments.remove(port_id, owner)
        except Exception:
            LOG.exception('Could not undo the attach of port %(port)s to '
                          'server %(server)s; recovery will retry',
                          {'port': port_id, 'server': server.id})

    @staticmethod
    def _log_attach(server, known, outcome):
        LOG.info('Attach interface: server %(server)s port %(port)s network '
                 '%(network)s: %(outcome)s',
                 dict(known, server=server.id, outcome=outcome))
