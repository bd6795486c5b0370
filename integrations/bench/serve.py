"""`python -m integrations.bench.serve PORT`: Django's threaded development WSGI server serving the
sandbox only (integrations.bench.urls) on 127.0.0.1:PORT, with this environment's settings and database."""

import os
import sys


def main(port):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueclerk.settings")
    os.environ["PROVIDER_SANDBOX"] = "true"
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "integrations.bench.urls"
    # A thread per request: keep no connection past its request, or the dead threads' connections
    # pile up until PostgreSQL refuses new clients.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    run("127.0.0.1", port, get_wsgi_application(), ipv6=False, threading=True, on_bind=None, server_cls=WSGIServer)


if __name__ == "__main__":
    main(int(sys.argv[1]))
