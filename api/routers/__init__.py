"""One router per resource (FastAPI's "bigger applications" layout); shared state is reached
through :mod:`twin.api.deps`."""
