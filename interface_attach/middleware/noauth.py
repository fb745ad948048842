"""Development authentication: the token names the caller, unchecked.

``X-Auth-Token: <user>:<project>[:<role>,<role>...]``. Without roles the
caller is a member (and so a reader) of the project. Roles imply others as
Keystone's defaults do: admin implies member, member implies reader. So
``alice:p1:reader`` is read-only and ``root:p1:admin`` is an administrator.

Identity headers sent by the client are always removed first, so they can
never be spoofed. The filter refuses to load unless ``[api] auth_strategy
= noauth``.
"""

from interface_attach.api import faults

# The headers keystonemiddleware sets; a client must never set them.
_IDENTITY = ['Domain-Id', 'Domain-Name', 'Project-Id', 'Project-Name',
             'Project-Domain-Id', 'Project-Domain-Name', 'User-Id',
             'User-Name', 'User-Domain-Id', 'User-Domain-Name', 'Roles',
             'Identity-Status', 'Is-Admin-Project', 'System-Scope']
IDENTITY_HEADERS = (
    ['X-%s' % name for name in _IDENTITY]
    + ['X-Service-%s' % name for name in _IDENTITY]
    + ['X-Service-Catalog', 'X-Tenant-Id', 'X-Tenant-Name', 'X-Tenant',
       'X-User', 'X-Role', 'OpenStack-System-Scope'])

# The same, as WSGI environ keys.
_IDENTITY_KEYS = ['HTTP_' + name.upper().replace('-', '_')
                  for name in IDENTITY_HEADERS]

IMPLIED_ROLES = {'admin': ['member'], 'member': ['reader']}
DEFAULT_ROLES = ['member']


def expand_roles(roles):
    """The roles with every role they imply, in a stable order."""
    result = []
    pending = list(roles)
    while pending:
        role = pending.pop(0)
        if role not in result:
            result.append(role)
            pending.extend(IMPLIED_ROLES.get(role, []))
    return result


def parse_token(token):
    """(user, project, roles) from a noauth token, or None if malformed."""
    parts = token.split(':')
    if len(parts) not in (2, 3) or not all(parts[:2]):
        return None
    roles = parts[2].split(',') if len(parts) == 3 else DEFAULT_ROLES
    roles = [role.strip() for role in roles if role.strip()]
    if not roles:
        return None
    return parts[0], parts[1], expand_roles(roles)


class NoAuth:

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        for key in _IDENTITY_KEYS:
            environ.pop(key, None)
        identity = parse_token(environ.get('HTTP_X_AUTH_TOKEN', ''))
        if identity is None:
            response = faults.fault_response(
                401, faults.UNAUTHORIZED,
                headers={'WWW-Authenticate': 'noauth'})
            return response(environ, start_response)
        user, project, roles = identity
        environ.update({
            'HTTP_X_IDENTITY_STATUS': 'Confirmed',
            'HTTP_X_USER_ID': user, 'HTTP_X_USER_NAME': user,
            'HTTP_X_PROJECT_ID': project, 'HTTP_X_PROJECT_NAME': project,
            'HTTP_X_ROLES': ','.join(roles)})
        return self.application(environ, start_response)
