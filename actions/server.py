"""The action server: rasa_sdk's app, in one process, on loopback only.

    python -m actions.server --port 5055

Unlike `python -m rasa_sdk`, it binds to 127.0.0.1 (MOVE_ACTIONS_HOST), runs in a single
process (the embedding model is loaded once, not once per Sanic worker), loads the knowledge
base, the model and the index before it accepts requests (so /health means "ready to answer"),
and refuses calls to /webhook without the shared token (MOVE_ACTIONS_TOKEN), which Rasa sends
as the `token` query parameter (bot/endpoints.yml).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import response

import settings


def build_app(token: str):
    from actions.runtime import runtime

    if not token:
        raise SystemExit("MOVE_ACTIONS_TOKEN is not set: the action server needs a token shared with Rasa")
    runtime()  # load before serving
    executor = ActionExecutor()
    executor.register_package("actions")
    app = create_app(executor, cors_origins=[])

    @app.on_request
    async def require_token(request):
        if request.path == "/health":
            return None
        given = request.args.get("token", "")
        if not secrets.compare_digest(given.encode(), token.encode()):
            return response.json({"error": "a valid token is required"}, status=401)
        return None

    return app


def keep_torch_out() -> None:
    """With ONNX Runtime the action server never runs torch, but spaCy (its stop-word lists, in
    knowledge/textnorm.py) imports thinc, which imports torch when it is installed: 250 MB of
    memory for nothing. Marking torch as absent while spaCy is imported makes thinc skip it; the
    mark is removed afterwards, because SciPy (scikit-learn, when an edited example refits the
    classifiers) treats a present-but-None module as an error."""
    if settings.EMBEDDING_BACKEND == "onnx" and "torch" not in sys.modules:
        sys.modules["torch"] = None
        try:
            import knowledge.textnorm  # noqa: F401  (spaCy -> thinc decides here that torch is absent)
        finally:
            if sys.modules.get("torch", False) is None:
                del sys.modules["torch"]


def main(argv: list[str] | None = None) -> None:
    keep_torch_out()
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=settings.ACTIONS_PORT)
    parser.add_argument("--host", default=os.environ.get("MOVE_ACTIONS_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = build_app(settings.ACTIONS_TOKEN)
    logging.getLogger(__name__).info("action server ready on http://%s:%d", args.host, args.port)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
