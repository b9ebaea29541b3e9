"""gunicorn settings of the web app (scripts/stack.py runs `gunicorn --config web/gunicorn_config.py ...`).

gunicorn names itself in a `Server: gunicorn` header on every response and has no setting to stop
it (benoitc/gunicorn#825): the header is written from the SERVER name of gunicorn.http.wsgi, which is
replaced here, in the master process before it forks the workers. Nothing else is set here: the
command line carries the rest.
"""

from __future__ import annotations

import gunicorn
import gunicorn.http.wsgi

SERVER_HEADER = "web"  # says nothing about the software or its version

gunicorn.SERVER = SERVER_HEADER
gunicorn.http.wsgi.SERVER = SERVER_HEADER
