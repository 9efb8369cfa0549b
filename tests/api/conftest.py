import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest_helpers import LiveServer  # noqa: E402


@pytest.fixture
def live(tmp_path):
    """live(**create_app kwargs) -> a LiveServer (use as a context manager) on a fresh database."""
    from twin.api.app import create_app

    def start(**kw):
        kw.setdefault("db", str(tmp_path / "api.db"))
        return LiveServer(create_app(**kw))

    return start
