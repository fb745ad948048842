"""Check strings shared by the rules, as Nova defines them."""

from oslo_policy import policy

ADMIN = 'rule:context_is_admin'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'

rules = [
    policy.RuleDefault(
        'context_is_admin', 'role:admin',
        description='Decides who is an administrator: admins see every '
                    'project\'s servers and are not stopped by a lock.'),
    policy.RuleDefault(
        'project_member_or_admin',
        '(role:member and project_id:%(project_id)s) or rule:context_is_admin',
        description='A member of the server\'s project, or an admin.'),
    policy.RuleDefault(
        'project_reader_or_admin',
        '(role:reader and project_id:%(project_id)s) or rule:context_is_admin',
        description='A reader of the server\'s project, or an admin.'),
]


def list_rules():
    return rules
