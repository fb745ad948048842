"""JSON Schemas of request bodies."""

import copy

_uuid = {'type': 'string', 'format': 'uuid'}

_interface_attachment = {
    'type': 'object',
    'properties': {
        'net_id': _uuid,
        'port_id': _uuid,
        'fixed_ips': {
            'type': 'array', 'minItems': 1, 'maxItems': 1,
            'items': {
                'type': 'object',
                'properties': {
                    'ip_address': {'type': 'string', 'format': 'ip_address'},
                },
                'required': ['ip_address'],
            },
        },
    },
}

create = {
    'type': 'object',
    'properties': {'interfaceAttachment': _interface_attachment},
}

# /v2 (the spec): a non-empty body needs "interfaceAttachment"; an empty
# body, {} and {"interfaceAttachment": {}} attach to the only network.
# Unknown keys are ignored, as legacy v2 ignored them.
create_v2 = dict(create, **{
    'if': {'minProperties': 1},
    'then': {'required': ['interfaceAttachment']},
})


def strict(schema):
    """The schema with unknown keys refused at every level."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if node.get('type') == 'object' and 'properties' in node:
                node['additionalProperties'] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
    close(schema)
    return schema


# /v2.1, as Nova validates it: unknown keys are errors; from 2.49 a "tag".
create_v21 = strict(create)
create_v249 = copy.deepcopy(create_v21)
create_v249['properties']['interfaceAttachment']['properties']['tag'] = {
    'type': 'string', 'pattern': '^[^,/]*$', 'minLength': 1, 'maxLength': 60}

# Query strings of list and show: from 2.102 Nova refuses any parameter.
no_query = {'type': 'object', 'properties': {}, 'additionalProperties': False}
