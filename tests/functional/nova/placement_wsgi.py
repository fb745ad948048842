"""Placement's WSGI application for a gunicorn process.

``placement.wsgi.api`` parses ``sys.argv``; it is cleared first. The file
is OS_PLACEMENT_CONFIG_DIR/placement.conf.
"""

import sys

sys.argv = sys.argv[:1]

from placement.wsgi import api  # noqa: E402

application = api.application
