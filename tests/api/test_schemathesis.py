"""Property-based API testing from the OpenAPI schema (schemathesis): no endpoint answers 500,
whatever the (schema-shaped or not) input."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from twin.api.app import Limits, create_app

import tempfile
from pathlib import Path

app = create_app(db=str(Path(tempfile.mkdtemp()) / "st.db"), limits=Limits(max_horizon_s=5000, max_running=1, max_queued=2))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
