"""Interface attachments: which port is attached to which server.

With a driver whose ports live elsewhere (Neutron), an attachment row is
written before the driver acts ('attaching') and confirmed after
('attached'), so the database constraints decide races between workers,
and an interrupted attach leaves a record saying what to undo. While an
attach or a detach is in flight the row names its owner
(``host:pid:nonce``); every later write of the operation is conditional on
still being the owner, so recovery can take a row over from a dead process
and the two can never both act on it. With the local driver the row is
added or removed in the same transaction as the port (``add``,
``remove_attached``), and is never in flight.
"""

import os
import socket
import uuid

from oslo_db import exception as db_exc
from oslo_utils import timeutils
import sqlalchemy as sa

from interface_attach.db import engine
from interface_attach.db import tables
from interface_attach import exception

_attachments = tables.interface_attachments
IN_FLIGHT = ('attaching', 'detaching')

# Statements of the request path, built once: SQLAlchemy then reuses their
# compiled form and cache key. Parameters named after a column set it; the
# "b_" ones select the row.
_col = _attachments.c
_INSERT = sa.insert(_attachments)
_UPDATE_OWNED = sa.update(_attachments).where(
    _col.port_id == sa.bindparam('b_port_id'),
    _col.owner == sa.bindparam('b_owner'))
_ATTACHED_TO_SERVER = sa.and_(
    _col.port_id == sa.bindparam('port_id'),
    _col.server_id == sa.bindparam('server_id'),
    _col.state == 'attached')
_GET = sa.select(_attachments).where(_ATTACHED_TO_SERVER)
_BY_PORT = sa.select(_attachments).where(
    _col.port_id == sa.bindparam('port_id'))
_START_DETACH = sa.update(_attachments).where(
    _col.port_id == sa.bindparam('b_port_id'),
    _col.server_id == sa.bindparam('b_server_id'),
    _col.state == 'attached')
_REMOVE = sa.delete(_attachments).where(
    _col.port_id == sa.bindparam('port_id'),
    _col.owner == sa.bindparam('owner'))
_DELETE_ATTACHED = sa.delete(_attachments).where(_ATTACHED_TO_SERVER)
_DELETE_ATTACHED_RETURNING = _DELETE_ATTACHED.returning(*_attachments.c)
# A write's own rows, for when its COMMIT is lost (see Database.writer):
# each write stamps updated_at with its own time.
_STAMPED = sa.select(_col.port_id).where(
    _col.port_id == sa.bindparam('port_id'),
    _col.updated_at == sa.bindparam('updated_at'))
_OWNED = sa.select(_col.port_id).where(
    _col.port_id == sa.bindparam('port_id'),
    _col.owner == sa.bindparam('owner'))
_CREATED = sa.select(_col.port_id).where(
    _col.port_id == sa.bindparam('port_id'),
    _col.created_at == sa.bindparam('created_at'))
_LIST_FOR_SERVER = sa.select(_attachments).where(
    _col.server_id == sa.bindparam('server_id'),
    _col.state == 'attached').order_by(_col.created_at)


def _there(statement, **params):
    """``landed`` of Database.writer: whether ``statement`` finds a row."""
    return lambda conn: conn.execute(statement, params).first() is not None


def _gone(statement, **params):
    """``landed`` of Database.writer: whether ``statement`` finds none."""
    return lambda conn: conn.execute(statement, params).first() is None


def new_owner():
    """A token naming this process and one operation."""
    return '%s:%d:%s' % (socket.gethostname(), os.getpid(),
                         uuid.uuid4().hex[:8])


class AttachmentStore:

    def __init__(self, database, allow_duplicate_networks):
        self._db = database
        self._allow_duplicate_networks = allow_duplicate_networks

    @engine.retried
    def reserve(self, server_id, port_id, network_id, port_created, owner,
                tag=None):
        """Record an attach about to happen; the constraints settle races.

        :raises PortInUse: the port is already attached (or attaching).
        :raises NetworkDuplicated: duplicates are off and the server already
            has a port on the network.
        """
        self._insert(server_id, port_id, network_id, port_created, tag,
                     state='attaching', owner=owner)

    @engine.retried
    def add(self, server_id, port_id, network_id, port_created, tag=None):
        """Record an attach done in the caller's transaction: 'attached'.

        :raises PortInUse, NetworkDuplicated: as ``reserve``.
        """
        self._insert(server_id, port_id, network_id, port_created, tag,
                     state='attached', owner=None)

    def _insert(self, server_id, port_id, network_id, port_created, tag,
                state, owner):
        guard = None if self._allow_duplicate_networks else network_id
        try:
            now = timeutils.utcnow()
            with self._db.writer(landed=_there(
                    _STAMPED, port_id=port_id, updated_at=now)) as conn:
                conn.execute(_INSERT, dict(
                    port_id=port_id, server_id=server_id,
                    network_id=network_id, network_guard=guard,
                    port_created=port_created, tag=tag, state=state,
                    owner=owner, created_at=now, updated_at=now))
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

    @engine.retried
    def _update_owned(self, port_id, owner, values):
        now = timeutils.utcnow()
        values = dict(values, updated_at=now, b_port_id=port_id,
                      b_owner=owner)
        with self._db.writer(landed=_there(
                _STAMPED, port_id=values.get('port_id', port_id),
                updated_at=now)) as conn:
            result = conn.execute(_UPDATE_OWNED, values)
        if result.rowcount != 1:
            raise exception.OperationTakenOver(port_id=port_id)

    @engine.retried
    def get(self, server_id, port_id):
        """The attachment of ``port_id`` to ``server_id``.

        :raises PortNotAttached: that port is not attached to that server.
        """
        with self._db.reader() as conn:
            row = conn.execute(_GET, {'port_id': port_id,
                                      'server_id': server_id}).first()
        if row is None:
            raise exception.PortNotAttached(server_id=server_id,
                                            port_id=port_id)
        return row

    @engine.retried
    def start_detach(self, server_id, port_id, owner):
        """Move an attachment to 'detaching'; only one detach can win.

        :returns: the attachment row, now 'detaching'.
        :raises PortNotAttached: not attached (or another detach runs).
        """
        now = timeutils.utcnow()
        with self._db.writer(landed=_there(
                _STAMPED, port_id=port_id, updated_at=now)) as conn:
            result = conn.execute(_START_DETACH, dict(
                state='detaching', owner=owner, updated_at=now,
                b_port_id=port_id,
                b_server_id=server_id))
            if result.rowcount != 1:
                raise exception.PortNotAttached(server_id=server_id,
                                                port_id=port_id)
            return conn.execute(_BY_PORT, {'port_id': port_id}).one()

    @engine.retried
    def remove(self, port_id, owner):
        """Delete the row, if ``owner`` still owns it."""
        with self._db.writer(landed=_gone(
                _OWNED, port_id=port_id, owner=owner)) as conn:
            conn.execute(_REMOVE, {'port_id': port_id, 'owner': owner})

    @engine.retried
    def remove_attached(self, server_id, port_id):
        """Delete the attachment of a detach done in the caller's transaction.

        :returns: the row as it was.
        :raises PortNotAttached: not attached (or another detach runs).
        """
        params = {'port_id': port_id, 'server_id': server_id}
        row = None

        def landed(conn):
            return conn.execute(_CREATED, {
                'port_id': port_id,
                'created_at': row.created_at}).first() is None
        with self._db.writer(landed=landed) as conn:
            if conn.dialect.delete_returning:
                # One statement (SQLite, PostgreSQL, MariaDB; not MySQL).
                row = conn.execute(_DELETE_ATTACHED_RETURNING, params).first()
            else:
                row = conn.execute(_GET, params).first()
                # The delete decides between two detaches racing after the
                # read.
                if row is not None and conn.execute(
                        _DELETE_ATTACHED, params).rowcount != 1:
                    row = None
            if row is None:
                raise exception.PortNotAttached(server_id=server_id,
                                                port_id=port_id)
        return row

    @engine.retried
    def in_flight(self):
        """Rows of attaches and detaches that have not finished."""
        with self._db.reader() as conn:
            return conn.execute(sa.select(_attachments).where(
                _col.state.in_(IN_FLIGHT))).all()

    @engine.retried
    def take_over(self, row, owner):
        """Become the owner of an in-flight row; False if someone else did.

        A compare-and-swap on the old owner (tokens are never reused), so
        only one recoverer wins, and the old owner's later writes all fail.
        """
        now = timeutils.utcnow()
        with self._db.writer(landed=_there(
                _STAMPED, port_id=row.port_id, updated_at=now)) as conn:
            result = conn.execute(_UPDATE_OWNED, dict(
                owner=owner, updated_at=now,
                b_port_id=row.port_id, b_owner=row.owner))
        return result.rowcount == 1

    @engine.retried
    def list_for_server(self, server_id):
        """The confirmed attachments of a server, oldest first."""
        with self._db.reader() as conn:
            return conn.execute(_LIST_FOR_SERVER,
                                {'server_id': server_id}).all()
