"""Interface attachments: which port is attached to which server.

An attachment row is written before the network driver acts ('attaching')
and confirmed after ('attached'), so the database constraints decide races
between workers, and an interrupted attach leaves a record saying what to
undo.
"""

from oslo_db import exception as db_exc
from oslo_utils import timeutils
import sqlalchemy as sa

from interface_attach.db import tables
from interface_attach import exception

_attachments = tables.interface_attachments


class AttachmentStore:

    def __init__(self, database, allow_duplicate_networks):
        self._db = database
        self._allow_duplicate_networks = allow_duplicate_networks

    def reserve(self, server_id, port_id, network_id, port_created,
                tag=None):
        """Record an attach about to happen; the constraints settle races.

        :raises PortInUse: the port is already attached (or attaching).
        :raises NetworkDuplicated: duplicates are off and the server already
            has a port on the network.
        """
        guard = None if self._allow_duplicate_networks else network_id
        try:
            with self._db.writer() as conn:
                conn.execute(sa.insert(_attachments).values(
                    port_id=port_id, server_id=server_id,
                    network_id=network_id, network_guard=guard,
                    port_created=port_created, tag=tag, state='attaching',
                    created_at=timeutils.utcnow()))
        except db_exc.DBDuplicateEntry as e:
            if 'network_guard' in (e.columns or []):
                raise exception.NetworkDuplicated(
                    network_id=network_id, server_id=server_id)
            raise exception.PortInUse(port_id=port_id)

    def confirm(self, port_id):
        with self._db.writer() as conn:
            conn.execute(
                sa.update(_attachments)
                .where(_attachments.c.port_id == port_id)
                .values(state='attached', updated_at=timeutils.utcnow()))

    def rekey(self, port_id, new_port_id):
        """Give an attachment the id the network back end chose.

        One statement, so the row (and its network guard) never lapses.
        """
        with self._db.writer() as conn:
            conn.execute(
                sa.update(_attachments)
                .where(_attachments.c.port_id == port_id)
                .values(port_id=new_port_id, updated_at=timeutils.utcnow()))

    def get(self, server_id, port_id):
        """The attachment of ``port_id`` to ``server_id``.

        :raises PortNotAttached: that port is not attached to that server.
        """
        with self._db.reader() as conn:
            row = conn.execute(sa.select(_attachments).where(
                _attachments.c.port_id == port_id,
                _attachments.c.server_id == server_id,
                _attachments.c.state == 'attached')).first()
        if row is None:
            raise exception.PortNotAttached(server_id=server_id,
                                            port_id=port_id)
        return row

    def start_detach(self, server_id, port_id):
        """Move an attachment to 'detaching'; only one detach can win.

        :raises PortNotAttached: not attached (or another detach runs).
        """
        with self._db.writer() as conn:
            result = conn.execute(
                sa.update(_attachments)
                .where(_attachments.c.port_id == port_id,
                       _attachments.c.server_id == server_id,
                       _attachments.c.state == 'attached')
                .values(state='detaching', updated_at=timeutils.utcnow()))
        if result.rowcount != 1:
            raise exception.PortNotAttached(server_id=server_id,
                                            port_id=port_id)

    def remove(self, port_id):
        with self._db.writer() as conn:
            conn.execute(sa.delete(_attachments).where(
                _attachments.c.port_id == port_id))

    def list_for_server(self, server_id):
        """The confirmed attachments of a server, oldest first."""
        with self._db.reader() as conn:
            return conn.execute(
                sa.select(_attachments)
                .where(_attachments.c.server_id == server_id,
                       _attachments.c.state == 'attached')
                .order_by(_attachments.c.created_at)).all()
