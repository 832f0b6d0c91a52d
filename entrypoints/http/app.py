"""The Litestar application: routes, dependencies, error mapping, limits, OpenAPI, SPA."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusController
from litestar.static_files import create_static_files_router

from adapters.prometheus_metrics import PrometheusMetrics
from entrypoints.background import background_tasks
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.garbage import tune_for_serving
from entrypoints.http.admin import AdminController
from entrypoints.http.audit import AuditController
from entrypoints.http.auth import PUBLIC, bearer_auth
from entrypoints.http.demo import DemoCheckoutController
from entrypoints.http.draining import end_streams_on_exit_signals
from entrypoints.http.head_requests import HeadAsGet
from entrypoints.http.identity import IdentityController
from entrypoints.http.json_bodies import JsonBodyRequest
from entrypoints.http.observability import RequestObserver
from entrypoints.http.openapi_operations import DeclaredQueryOnly, document_operations
from entrypoints.http.openapi_problems import document_problems
from entrypoints.http.ops import healthz, readyz
from entrypoints.http.payment_events import payment_events
from entrypoints.http.payments import PaymentsController, WalletController
from entrypoints.http.problems import problem_details_plugin
from entrypoints.http.rate_limits import SignInLimits
from entrypoints.http.read_your_writes import ReadYourWrites
from entrypoints.http.spends import PayeesAndDebtsController, SpendsController, ledger_public_key
from entrypoints.http.wallet_lane import WalletLane
from entrypoints.http.webhooks import WebhookLane, WebhooksController
from entrypoints.logs import configure_logging, keep_query_tokens_out_of_access_logs
from entrypoints.settings import Settings, load_settings

SPA_DIRECTORY = Path(__file__).parent / "spa"


def _services(state: State) -> Services:
    services: Services = state.services
    return services


class MetricsController(PrometheusController):
    path = "/metrics"
    opt = PUBLIC
    include_in_schema = False


def _cors(origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for an SPA served from another origin (CORS_ORIGINS); off unless origins are named. Tokens travel in
    the Authorization header, never in cookies: no credentials mode."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=["authorization", "content-type", "idempotency-key", "x-request-id"],
        expose_headers=["x-request-id", "retry-after", "location"],
        max_age=600,
    )


def serve_app(settings: Settings | None = None) -> Litestar:
    """The app factory `mcpay serve` runs in each worker, and `uvicorn --factory entrypoints.http.app:serve_app`
    or gunicorn's uvicorn worker can run as well: settings from the environment, Prometheus metrics."""
    settings = settings or load_settings()
    configure_logging(settings)
    app = create_app(bootstrap(settings, metrics=PrometheusMetrics()))
    tune_for_serving()
    return app


def create_app(services: Services) -> Litestar:
    settings = services.settings
    sign_in_limits = SignInLimits(settings.auth_rate_limit_per_key, settings.auth_rate_limit_per_address)
    keep_query_tokens_out_of_access_logs()
    app = Litestar(
        route_handlers=[
            IdentityController,
            PaymentsController,
            WalletController,
            WebhooksController,
            AdminController,
            SpendsController,
            ledger_public_key,
            PayeesAndDebtsController,
            AuditController,
            DemoCheckoutController,
            payment_events,
            healthz,
            readyz,
            MetricsController,
            create_static_files_router(
                path="/", directories=[SPA_DIRECTORY], html_mode=True, opt=PUBLIC, include_in_schema=False
            ),
        ],
        dependencies={"services": Provide(_services, sync_to_thread=False)},
        state=State({"services": services, "sign_in_limits": sign_in_limits}),
        middleware=[bearer_auth, DeclaredQueryOnly(), ReadYourWrites()],
        plugins=[problem_details_plugin()],
        logging_config=None,  # logging is configured once per process (entrypoints/logs.py), not per app
        request_max_body_size=services.settings.max_body_bytes,
        request_class=JsonBodyRequest,
        openapi_config=OpenAPIConfig(
            title="mcpay",
            version="1.0.0",
            path="/schema",
            description="Top up a wallet of Mycelium Credits through Stripe, ClickPesa or bank transfer, and spend "
            "them with payees by signed spends.",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
        ),
        cors_config=_cors(settings.cors_origins),
        lifespan=[end_streams_on_exit_signals, background_tasks],
        on_shutdown=[services.close],
    )
    # Outside Litestar's own exception handling: every answer gets its X-Request-ID, access line and metrics.
    # Gateway deliveries and the wallet take lanes of their own beside the router (ADR 59, 63).
    app.asgi_handler = RequestObserver(WalletLane(WebhookLane(HeadAsGet(app.asgi_handler), services), services))
    document_operations(app, services.payments.offers(), settings.credit_rates)
    document_problems(app)
    return app
