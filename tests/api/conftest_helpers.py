import socket
import threading
import time

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn on a loopback port, stopped by the test."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            try:
                httpx.get(self.url + "/v1/health", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)




# a two-machine line with failures: small enough for tests that step it
LINE = {
    "name": "api line", "horizon": 20000, "seed": 5,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 10}, "failures": [{"basis": "calendar", "availability": 0.95, "mttr": 100}]},
                 "B": {"process_time": {"dist": "exponential", "mean": 11}}},
    "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}
