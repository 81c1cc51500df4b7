"""gunicorn settings: `gunicorn --config gunicorn.conf.py portal.wsgi` (`make serve` runs this).

Read from the environment (or `.env`, like the portal's settings):
- HOST, PORT: where to listen (default 127.0.0.1:8000; `--bind` on the command line wins);
- WEB_CONCURRENCY: worker processes (default 2; about two per CPU core);
- GUNICORN_TIMEOUT: seconds before a silent worker is killed and replaced (default 30);
- FORWARDED_ALLOW_IPS: read by gunicorn itself, the proxies whose X-Forwarded-Proto it believes
  (default 127.0.0.1,::1);
- LOG_FORMAT, LOG_LEVEL: as for the portal; gunicorn's lines go through the same formatter.

The access log leaves out the query string and the referer: Connect JWTs travel in `?jwt=`, and a
page opened with one sends it on as the Referer of every asset it loads.
"""

import os
from pathlib import Path

import environ

from portal.logs import logging_config

DOTENV = Path(__file__).resolve().parent / ".env"
if DOTENV.exists():
    environ.Env.read_env(DOTENV, overwrite=False)

wsgi_app = "portal.wsgi"
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout
# No runtime control socket (gunicorn ≥ 25): its default path in $HOME would be shared by every
# gunicorn of the user; systemd's reload (HUP) and stop (TERM) are the controls.
control_socket_disable = True

loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
logconfig_dict = logging_config(
    os.environ.get("LOG_FORMAT", "text"), os.environ.get("LOG_LEVEL", "INFO")
)
accesslog = "-"
# Remote address, method, path without the query, protocol, status, bytes, milliseconds, agent.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
