"""Keystone's public WSGI application, and its one-time setup, for the peers.

gunicorn imports this file as the module ``keystone_wsgi`` (``--pythonpath``
this directory, ``keystone_wsgi:application``). Keystone parses
``sys.argv`` with oslo.config when it initializes, and would read
gunicorn's own command line there, so the arguments are cleared first; the
configuration file comes from ``OS_KEYSTONE_CONFIG_FILES``, which keystone
reads itself.

Run as a script, it prepares a new Keystone in one process (one import of
keystone instead of one per ``keystone-manage`` command)::

    python keystone_wsgi.py CONFIG_FILE PUBLIC_URL ADMIN_PASSWORD

runs ``keystone-manage db_sync``, ``fernet_setup`` and ``bootstrap``
(admin user and project, the admin, manager, member, reader and service
roles with their implications, RegionOne and the identity endpoint).
"""

import os
import sys


def setup(config_file, public_url, admin_password):
    from keystone.cmd import cli
    import keystone.conf

    user, group = str(os.getuid()), str(os.getgid())
    commands = (
        ['db_sync'],
        ['fernet_setup', '--keystone-user', user, '--keystone-group', group],
        ['bootstrap', '--bootstrap-password', admin_password,
         '--bootstrap-region-id', 'RegionOne',
         '--bootstrap-public-url', public_url],
    )
    for command in commands:
        cli.main(['keystone-manage', '--config-file', config_file] + command)
        # cli.main parses the global CONF each time: forget the last parse.
        keystone.conf.CONF.reset()
        keystone.conf.CONF.clear()


def _application():
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi
    return wsgi.initialize_public_application()


if __name__ == '__main__':
    setup(*sys.argv[1:4])
else:
    application = _application()
