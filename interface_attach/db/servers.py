"""The servers the service knows: lookup, creation, lock and state."""

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from interface_attach.db import engine
from interface_attach.db import tables
from interface_attach import exception

_servers = tables.servers
_LIVE = _servers.c.deleted_at.is_(None)
# Built once: SQLAlchemy then reuses its compiled form and cache key.
_GET = sa.select(_servers).where(_servers.c.id == sa.bindparam('server_id'),
                                 _LIVE)


class ServerStore:

    def __init__(self, database):
        self._db = database

    @engine.retried
    def get(self, server_id):
        with self._db.reader() as conn:
            row = conn.execute(_GET, {'server_id': server_id}).first()
        if row is None:
            raise exception.ServerNotFound(server_id=server_id)
        return row

    @engine.retried
    def list(self, project_id=None, name=None):
        query = sa.select(_servers).where(_LIVE).order_by(
            _servers.c.created_at, _servers.c.id)
        if project_id is not None:
            query = query.where(_servers.c.project_id == project_id)
        if name is not None:
            query = query.where(_servers.c.name == name)
        with self._db.reader() as conn:
            return conn.execute(query).all()

    @engine.retried
    def create(self, project_id, name, server_id=None, user_id=None,
               vm_state='active', host=None, availability_zone='nova',
               launched=True):
        now = timeutils.utcnow()
        values = dict(
            id=server_id or uuidutils.generate_uuid(),
            project_id=project_id, user_id=user_id, name=name,
            vm_state=vm_state, task_state=None, locked=False, host=host,
            availability_zone=availability_zone,
            launched_at=now if launched else None, created_at=now)
        with self._db.writer() as conn:
            conn.execute(sa.insert(_servers).values(**values))
        return self.get(values['id'])

    @engine.retried
    def delete(self, server_id):
        """Soft-delete a server that has no interfaces attached."""
        attachments = tables.interface_attachments
        with self._db.writer() as conn:
            in_use = conn.execute(
                sa.select(attachments.c.port_id).where(
                    attachments.c.server_id == server_id).limit(1)).first()
            if in_use is not None:
                raise exception.InUse(resource='Server', id=server_id)
            self._update(conn, server_id, deleted_at=timeutils.utcnow())

    @engine.retried
    def set_locked(self, server_id, locked):
        with self._db.writer() as conn:
            self._update(conn, server_id, locked=locked)

    @engine.retried
    def set_state(self, server_id, **states):
        """Set ``vm_state`` and/or ``task_state`` (None clears the task)."""
        values = dict(states)
        if values.get('vm_state') == 'active':
            values['launched_at'] = sa.func.coalesce(
                _servers.c.launched_at, timeutils.utcnow())
        with self._db.writer() as conn:
            self._update(conn, server_id, **values)
        return self.get(server_id)

    @staticmethod
    def _update(conn, server_id, **values):
        values['updated_at'] = timeutils.utcnow()
        result = conn.execute(
            sa.update(_servers).where(_servers.c.id == server_id, _LIVE)
            .values(**values))
        if result.rowcount != 1:
            raise exception.ServerNotFound(server_id=server_id)
