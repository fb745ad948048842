"""Neutron's WSGI application for a test server process.

Neutron parses ``sys.argv`` as its own command line when the application
is built; under a WSGI server that is the server's command line, so it is
cleared first. The configuration comes from OS_NEUTRON_CONFIG_DIR and
OS_NEUTRON_CONFIG_FILES.
"""

import sys

sys.argv = sys.argv[:1]

from neutron.wsgi import api  # noqa: E402

application = api.application
