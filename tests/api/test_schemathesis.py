"""Property-based API testing from the OpenAPI document (schemathesis) against a live server with
identities: no 500, every status code and response body as documented, schema-invalid input
refused (strict bodies, a published scenario schema enforced at the edge), auth enforced.

This runs the per-response checks of ``schemathesis run --checks all`` on a few examples per
operation; the whole CLI run (stateful links, use-after-free, coverage phase) is in
docs/api.md with its result."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth, negative_data_rejection,
                                               positive_data_acceptance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from conftest_helpers import LiveServer

TOKEN = {"Authorization": "Bearer st-secret"}
# a scenario can be valid JSON Schema and still be refused (a routing naming a missing station,
# a horizon above the server's limit): 422 is the documented answer there; so can a checkpoint
# (its digest) and a plant snapshot (a station the scenario lacks)
SCENARIO_ROUTES = ("/v1/scenarios", "/v1/scenarios/validate", "/v1/runs", "/v1/sessions", "/v1/compare",
                   "/v1/sessions/restore", "/v1/forecast")


import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from twin.api.app import Limits, create_app  # noqa: E402

app = create_app(db=str(Path(tempfile.mkdtemp()) / "st.db"), tokens=["tester=st-secret"],
                 limits=Limits(max_horizon_s=5000, max_running=1, max_queued=2, max_sessions=8))
schema = schemathesis.openapi.from_dict(app.openapi())
schema.config.phases.coverage.enabled = False  # hundreds of cases on the scenario schema: the CLI run covers it


@pytest.fixture(scope="module")
def server():
    with LiveServer(app) as srv:
        yield srv


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case, server):
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance, negative_data_rejection, ignored_auth]
    if case.path not in SCENARIO_ROUTES:
        checks.append(positive_data_acceptance)
    case.call_and_validate(base_url=server.url, headers=TOKEN, checks=checks, timeout=60)
