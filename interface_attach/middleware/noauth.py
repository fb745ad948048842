"""Development authentication: the token names the caller, unchecked.

``X-Auth-Token: <user>:<project>[:<role>,<role>...]``. Without roles the
caller is a member (and so a reader) of the project. Roles imply others as
Keystone's defaults do: admin implies member, member implies reader. So
``alice:p1:reader`` is read-only and ``root:p1:admin`` is an administrator.

Identity headers sent by the client are always removed first, so they can
never be spoofed. The filter refuses to load unless ``[api] auth_strategy
= noauth``.
"""

import webob.dec

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
       'X-User', 'X-Role'])

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

    @webob.dec.wsgify
    def __call__(self, req):
        for header in IDENTITY_HEADERS:
            req.headers.pop(header, None)
        identity = parse_token(req.headers.get('X-Auth-Token', ''))
        if identity is None:
            return faults.fault_response(
                401, faults.UNAUTHORIZED,
                headers={'WWW-Authenticate': 'noauth'})
        user, project, roles = identity
        req.headers.update({
            'X-Identity-Status': 'Confirmed',
            'X-User-Id': user, 'X-User-Name': user,
            'X-Project-Id': project, 'X-Project-Name': project,
            'X-Roles': ','.join(roles)})
        return req.get_response(self.application)
