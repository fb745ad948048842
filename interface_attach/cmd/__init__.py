"""Console scripts: interface-attach-api and interface-attach-manage.

Both report a failure as one line: the helpers here shape it.
"""

import re

import sqlalchemy as sa


def first_line(error):
    """The first line of an error, without SQLAlchemy's "(module.Class) "."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return re.sub(r'^\([\w.]+\) ', '', lines[0])


def database_url(conf):
    """[database] connection as it may be shown: no password."""
    try:
        return sa.engine.make_url(conf.database.connection).render_as_string(
            hide_password=True)
    except Exception:
        return '(unparsable connection URL)'
