"""Process edges: the Flask app factory, webhook, CLI, worker, simulator and the LINE client."""

from __future__ import annotations

import logging
import os

from flask import Flask

from bot.config import Config, config_from_environment


def create_app(config: Config | None = None) -> Flask:
    """Build the web app. Importing this package does nothing else."""
    config = config or config_from_environment()
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        # Serving (gunicorn) needs every secret; CLI commands check what they use themselves.
        config.check()
    app = Flask(__name__)
    app.config.from_object(config)
    if config.TRUST_PROXY_HOPS > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.TRUST_PROXY_HOPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["helpdesk.config"] = config  # CLI commands re-check what they need

    from flask_wtf.csrf import CSRFProtect

    from bot import admin, cli, database, health, webhook

    database.init_app(app)
    csrf = CSRFProtect(app)  # every form POST; LINE's webhook is authenticated by its signature instead
    app.register_blueprint(webhook.bp)
    csrf.exempt(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    if config.DEMO:
        from bot import simulator

        app.register_blueprint(simulator.bp)
        csrf.exempt(simulator.bp)
    cli.init_app(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
