"""The WSGI application for uwsgi, mod_wsgi or gunicorn: ``application``.

Configuration files come from $OS_INTERFACE_ATTACH_CONFIG_FILE (several
separated by ``os.pathsep``), else the default locations, e.g.
``gunicorn interface_attach.wsgi.api:application``.
"""

from interface_attach import wsgi

application = wsgi.init_application()
