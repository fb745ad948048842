"""The query strings of list and show: what each surface does with them."""

from oslotest import base
import webob

from interface_attach.api import surfaces
from interface_attach import exception


def request(query):
    return webob.Request.blank('/v2.1/servers/s/os-interface?' + query)


class QueryTest(base.BaseTestCase):

    def test_from_2_102_a_query_parameter_is_a_400_in_novas_words(self):
        error = self.assertRaises(exception.ValidationError,
                                  surfaces.V2_1.check_query,
                                  request('limit=1'), (2, 102))
        self.assertEqual("Additional properties are not allowed ('limit' "
                         "was unexpected)", error.message)

    def test_before_2_102_and_on_v2_query_parameters_are_ignored(self):
        surfaces.V2_1.check_query(request('limit=1'), (2, 101))
        surfaces.V2.check_query(request('limit=1'), None)

    def test_an_empty_query_passes_at_any_version(self):
        surfaces.V2_1.check_query(request(''), (2, 104))
