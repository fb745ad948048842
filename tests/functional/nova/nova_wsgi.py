"""nova-api's WSGI application for a gunicorn process.

``nova.wsgi.osapi_compute`` parses ``sys.argv`` as nova-api's command
line; under gunicorn that is gunicorn's, so it is cleared first. The files
come from OS_NOVA_CONFIG_DIR and OS_NOVA_CONFIG_FILES (paste file first).
"""

import sys

sys.argv = sys.argv[:1]

from nova.wsgi import osapi_compute  # noqa: E402

application = osapi_compute.application
