"""Interface attachments: which port is attached to which server.

An attachment row is written before the network driver acts ('attaching')
and confirmed after ('attached'), so the database constraints decide races
between workers, and an interrupted attach leaves a record saying what to
undo. While an attach or a detach is in flight the row names its owner
(``host:pid:nonce``); every later write of the operation is conditional on
still being the owner, so recovery can take a row over from a dead process
and the two can never both act on it.
"""

import os
import socket
import uuid

from oslo_db import exception as db_exc
from oslo_utils import timeutils
import sqlalchemy as sa

from interface_attach.db import tables
from interface_attach import exception

_attachments = tables.interface_attachments
IN_FLIGHT = ('attaching', 'detaching')


def new_owner():
    """A token naming this process and one operation."""
    return '%s:%d:%s' % (socket.gethostname(), os.getpid(),
                         uuid.uuid4().hex[:8])


class AttachmentStore:

    def __init__(self, database, allow_duplicate_networks):
        self._db = database
        self._allow_duplicate_networks = allow_duplicate_networks

    def reserve(self, server_id, port_id, network_id, port_created, owner,
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
                    owner=owner, created_at=timeutils.utcnow(),
                    updated_at=timeutils.utcnow()))
        except db_exc.DBDuplicateEntry as e:
            if 'network_guard' in (e.columns or []):
                raise exception.NetworkDuplicated(
                    network_id=network_id, server_id=server_id)
            raise exception.PortInUse(port_id=port_id)

    def confirm(self, port_id, owner):
        """Mark the attachment 'attached' and ownerless.

        :raises OperationTakenOver: ``owner`` no longer owns the row.
        """
        self._update_owned(port_id, owner, {'state': 'attached',
                                            'owner': None})

    def rekey(self, port_id, new_port_id, owner):
        """Give an attachment the id the network back end chose.

        One statement, so the row (and its network guard) never lapses.
        """
        self._update_owned(port_id, owner, {'port_id': new_port_id})

    def _update_owned(self, port_id, owner, values):
        values = dict(values, updated_at=timeutils.utcnow())
        with self._db.writer() as conn:
            result = conn.execute(
                sa.update(_attachments)
                .where(_attachments.c.port_id == port_id,
                       _attachments.c.owner == owner)
                .values(**values))
        if result.rowcount != 1:
            raise exception.OperationTakenOver(port_id=port_id)

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

    def start_detach(self, server_id, port_id, owner):
        """Move an attachment to 'detaching'; only one detach can win.

        :raises PortNotAttached: not attached (or another detach runs).
        """
        with self._db.writer() as conn:
            result = conn.execute(
                sa.update(_attachments)
                .where(_attachments.c.port_id == port_id,
                       _attachments.c.server_id == server_id,
                       _attachments.c.state == 'attached')
                .values(state='detaching', owner=owner,
                        updated_at=timeutils.utcnow()))
        if result.rowcount != 1:
            raise exception.PortNotAttached(server_id=server_id,
                                            port_id=port_id)

    def remove(self, port_id, owner):
        """Delete the row, if ``owner`` still owns it."""
        with self._db.writer() as conn:
            conn.execute(sa.delete(_attachments).where(
                _attachments.c.port_id == port_id,
                _attachments.c.owner == owner))

    def in_flight(self):
        """Rows of attaches and detaches that have not finished."""
        with self._db.reader() as conn:
            return conn.execute(sa.select(_attachments).where(
                _attachments.c.state.in_(IN_FLIGHT))).all()

    def take_over(self, row, owner):
        """Become the owner of an in-flight row; False if someone else did.

        A compare-and-swap on the old owner (tokens are never reused), so
        only one recoverer wins, and the old owner's later writes all fail.
        """
        with self._db.writer() as conn:
            result = conn.execute(
                sa.update(_attachments)
                .where(_attachments.c.port_id == row.port_id,
                       _attachments.c.owner == row.owner)
                .values(owner=owner, updated_at=timeutils.utcnow()))
        return result.rowcount == 1

    def list_for_server(self, server_id):
        """The confirmed attachments of a server, oldest first."""
        with self._db.reader() as conn:
            return conn.execute(
                sa.select(_attachments)
                .where(_attachments.c.server_id == server_id,
                       _attachments.c.state == 'attached')
                .order_by(_attachments.c.created_at)).all()
