import sys
import threading
from pathlib import Path
import time

import httpx
import pytest
import uvicorn


sys.path.insert(0, str(Path(__file__).parent))
from conftest_helpers import LiveServer, free_port  # noqa: E402,F401


@pytest.fixture
def live(tmp_path):
    from twin.api.app import Limits, create_app

    def start(**kw):
        kw.setdefault("db", str(tmp_path / "api.db"))
        return LiveServer(create_app(**kw))

    return start
