"""Settings: read once from the environment into a frozen object, each value validated."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property

from adapters.persistence import UnsupportedDatabaseUrl, sqlite_file
from adapters.session_secret import SessionSecretUnreadable, kept_session_secret
from domain.money import MINOR_DIGITS

HEX_KEY = re.compile(r"[0-9a-f]{64}")
STRIPE_SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]+")
STRIPE_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9_]+")
DEFAULT_RATES = "USD=1,EUR=1.08,TZS=0.00037"
POSTGRES_WITHOUT_KEY_MESSAGE = (
    "SESSION_SECRET must be set on PostgreSQL: every API process must sign and check sessions with the same "
    "secret, and there is no file beside the database to keep a made one in"
)


class SettingsError(ValueError):
    """A setting is malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/mcpay.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    demo_payment: bool = True
    session_secret: str = ""
    session_ttl_seconds: int = 12 * 3600
    admin_public_keys: frozenset[str] = frozenset()
    auditor_public_keys: frozenset[str] = frozenset()
    ledger_signing_key: str = ""
    credit_rates: Mapping[str, Decimal] = field(default_factory=lambda: parse_rates("CREDIT_RATES", DEFAULT_RATES))
    stripe_secret_key: str = ""
    stripe_webhook_secrets: tuple[str, ...] = ()
    stripe_api_base: str = "https://api.stripe.com"
    clickpesa_client_id: str = ""
    clickpesa_api_secret: str = ""
    clickpesa_webhook_secret: str = ""
    clickpesa_api_base: str = "https://api.clickpesa.com/third-parties"
    clickpesa_request_checksum: bool = True  # sign request bodies with the checksum key (CLICKPESA_WEBHOOK_SECRET)
    bank_name: str = ""
    bank_account_name: str = ""
    bank_account_number: str = ""
    bank_swift_code: str = ""
    bank_min_amount: Decimal = Decimal(1000)
    bank_confirmations_required: int = 1
    bank_expiry_days: int = 14  # unconfirmed bank transfers expire (through reconciliation) after this
    max_body_bytes: int = 64 * 1024
    reconcile_interval_seconds: int = 60
    reconcile_min_age_seconds: int = 600
    reconcile_reversal_window_days: int = 120  # credited payments asked about refunds and disputes for this long
    reconcile_reversal_checks: int = 100  # credited payments asked about per run (the rest on later runs)
    reconcile_calls_per_second: int = 20  # the pace of those questions (Stripe allows 25/s in test mode)
    checkout_abandoned_after_seconds: int = 120  # an open older than this was abandoned (its process died)
    checkout_replay_wait_seconds: int = 5  # how long a replay waits for the first request's checkout
    checkpoint_interval_seconds: int = 3600  # signed ledger checkpoints; 0: only on demand
    log_format: str = ""  # "json" or "console"; empty: JSON in live mode, console in demo mode
    log_level: str = "INFO"
    auth_rate_limit_per_key: int = 30  # sign-in requests a minute per public key, per endpoint; 0: no limit
    auth_rate_limit_per_address: int = 120  # ... per client address, per endpoint; 0: no limit
    workers: int = 1  # API worker processes sharing the port (WEB_CONCURRENCY); more than one needs PostgreSQL
    cors_origins: tuple[str, ...] = ()  # origins of an SPA served elsewhere; empty: no CORS headers at all
    metrics_directory: str = ""  # PROMETHEUS_MULTIPROC_DIR: workers' metrics files; `serve --workers` makes one
    ready_max_lag_events: int = 1000  # /readyz answers 503 while the read model is further behind the log
    writer_linger_ms: Decimal = Decimal("0.5")  # how long a group of changes waits for more to join it (ADR 58)

    def __repr__(self) -> str:
        return "Settings(<values hidden: some are secrets>)"

    @cached_property
    def effective_session_secret(self) -> str:
        """SESSION_SECRET, or (demo mode) a random one kept beside the SQLite file, or this process's own."""
        if self.session_secret:
            return self.session_secret
        if _is_postgres(self.database_url):
            raise SettingsError(POSTGRES_WITHOUT_KEY_MESSAGE)
        try:
            return kept_session_secret(sqlite_file(self.database_url))
        except (OSError, SessionSecretUnreadable, UnsupportedDatabaseUrl) as error:
            raise SettingsError(f"SESSION_SECRET is not set and the demo one cannot be kept: {error}") from None

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.demo_payment else "json")

    def demo_secret(self, purpose: str) -> str:
        """A webhook secret for a simulated gateway, stable across restarts of one deployment."""
        return hmac.new(self.effective_session_secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @cached_property
    def effective_ledger_signing_key(self) -> str:
        """LEDGER_SIGNING_KEY, or in demo mode a stable demo seed; "" in live mode without one (nothing signs)."""
        if self.ledger_signing_key or not self.demo_payment:
            return self.ledger_signing_key
        return self.demo_secret("ledger-signing")


def _is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql:", "postgres:"))


def parse_rates(name: str, text: str) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, sep, value = item.partition("=")
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            rate = Decimal("NaN")
        if not sep or not re.fullmatch(r"[A-Z]{3}", code.strip()) or not rate.is_finite() or rate <= 0:
            raise SettingsError(f"{name}: {item!r} is not CODE=positive-number (e.g. USD=1,EUR=1.08)")
        rates[code.strip()] = rate
    if not rates:
        raise SettingsError(f"{name} lists no rates")
    return rates


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {text!r}")


def _int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {text!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}")
    return value


def _at_most(name: str, value: Decimal, high: Decimal) -> Decimal:
    if value > high:
        raise SettingsError(f"{name} must be at most {high}")
    return value


def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SettingsError(f"{name} must be a number, not {text!r}") from None
    if not value.is_finite() or value < 0:
        raise SettingsError(f"{name} must be a non-negative number")
    return value


def _choice(name: str, text: str, choices: tuple[str, ...]) -> str:
    if text.lower() not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {text!r}")
    return text.lower()


def _keys(name: str, text: str) -> frozenset[str]:
    keys = frozenset(filter(None, (part.strip().lower() for part in text.split(","))))
    for key in keys:
        if not HEX_KEY.fullmatch(key):
            raise SettingsError(f"{name}: {key[:16]}... is not a 64-hex-digit ed25519 public key")
    return keys


def _url(name: str, text: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", text):
        raise SettingsError(f"{name} must be an http(s) URL")
    return text.rstrip("/")


def _origins(name: str, text: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in text.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^\s/]+", origin):
            raise SettingsError(f"{name}: {origin!r} is not an origin (scheme://host[:port], or *)")
    return origins


def _signing_key(name: str, text: str) -> str:
    if text and not HEX_KEY.fullmatch(text.strip().lower()):
        raise SettingsError(f"{name} must be a 64-hex-digit ed25519 private seed")
    return text.strip().lower()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; a malformed value raises SettingsError naming it."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    values: dict[str, object] = {}
    plain = {
        "DATABASE_URL": "database_url",
        "HOST": "host",
        "SESSION_SECRET": "session_secret",
        "STRIPE_SECRET_KEY": "stripe_secret_key",
        "CLICKPESA_CLIENT_ID": "clickpesa_client_id",
        "CLICKPESA_API_SECRET": "clickpesa_api_secret",
        "CLICKPESA_WEBHOOK_SECRET": "clickpesa_webhook_secret",
        "BANK_NAME": "bank_name",
        "BANK_ACCOUNT_NAME": "bank_account_name",
        "BANK_ACCOUNT_NUMBER": "bank_account_number",
        "BANK_SWIFT_CODE": "bank_swift_code",
        "PROMETHEUS_MULTIPROC_DIR": "metrics_directory",
    }
    for var, attr in plain.items():
        if (text := get(var)) is not None:
            values[attr] = text
    parsers: dict[str, tuple[str, Callable[[str, str], object]]] = {
        "PORT": ("port", lambda n, t: _int(n, t, 1, 65535)),
        "SESSION_TTL_SECONDS": ("session_ttl_seconds", lambda n, t: _int(n, t, 60, 30 * 86400)),
        "PUBLIC_BASE_URL": ("public_base_url", _url),
        "STRIPE_API_BASE": ("stripe_api_base", _url),
        "CLICKPESA_API_BASE": ("clickpesa_api_base", _url),
        "CLICKPESA_REQUEST_CHECKSUM": ("clickpesa_request_checksum", _bool),
        "DEMO_PAYMENT": ("demo_payment", _bool),
        "ADMIN_PUBLIC_KEYS": ("admin_public_keys", _keys),
        "AUDITOR_PUBLIC_KEYS": ("auditor_public_keys", _keys),
        "LEDGER_SIGNING_KEY": ("ledger_signing_key", _signing_key),
        "CREDIT_RATES": ("credit_rates", parse_rates),
        "BANK_MIN_AMOUNT": ("bank_min_amount", _decimal),
        "BANK_CONFIRMATIONS_REQUIRED": ("bank_confirmations_required", lambda n, t: _int(n, t, 1, 5)),
        "BANK_EXPIRY_DAYS": ("bank_expiry_days", lambda n, t: _int(n, t, 1, 365)),
        "RECONCILE_INTERVAL_SECONDS": ("reconcile_interval_seconds", lambda n, t: _int(n, t, 0, 86400)),
        "RECONCILE_MIN_AGE_SECONDS": ("reconcile_min_age_seconds", lambda n, t: _int(n, t, 0, 30 * 86400)),
        "RECONCILE_REVERSAL_WINDOW_DAYS": ("reconcile_reversal_window_days", lambda n, t: _int(n, t, 0, 3650)),
        "RECONCILE_REVERSAL_CHECKS": ("reconcile_reversal_checks", lambda n, t: _int(n, t, 0, 100_000)),
        "RECONCILE_CALLS_PER_SECOND": ("reconcile_calls_per_second", lambda n, t: _int(n, t, 1, 1000)),
        "CHECKOUT_ABANDONED_AFTER_SECONDS": ("checkout_abandoned_after_seconds", lambda n, t: _int(n, t, 1, 86400)),
        "CHECKOUT_REPLAY_WAIT_SECONDS": ("checkout_replay_wait_seconds", lambda n, t: _int(n, t, 0, 60)),
        "CHECKPOINT_INTERVAL_SECONDS": ("checkpoint_interval_seconds", lambda n, t: _int(n, t, 0, 7 * 86400)),
        "LOG_FORMAT": ("log_format", lambda n, t: _choice(n, t, ("json", "console"))),
        "LOG_LEVEL": ("log_level", lambda n, t: _choice(n, t, ("debug", "info", "warning", "error")).upper()),
        "AUTH_RATE_LIMIT_PER_KEY": ("auth_rate_limit_per_key", lambda n, t: _int(n, t, 0, 1_000_000)),
        "AUTH_RATE_LIMIT_PER_ADDRESS": ("auth_rate_limit_per_address", lambda n, t: _int(n, t, 0, 1_000_000)),
        "WEB_CONCURRENCY": ("workers", lambda n, t: _int(n, t, 1, 64)),
        "CORS_ORIGINS": ("cors_origins", _origins),
        "READY_MAX_LAG_EVENTS": ("ready_max_lag_events", lambda n, t: _int(n, t, 0, 100_000_000)),
        "WRITER_LINGER_MS": ("writer_linger_ms", lambda n, t: _at_most(n, _decimal(n, t), Decimal(50))),
    }
    for var, (attr, parse) in parsers.items():
        if (text := get(var)) is not None:
            values[attr] = parse(var, text)
    if (text := get("STRIPE_WEBHOOK_SECRET")) is not None:
        values["stripe_webhook_secrets"] = tuple(s.strip() for s in text.split(",") if s.strip())
    if "public_base_url" not in values:
        values["public_base_url"] = f"http://{values.get('host', '127.0.0.1')}:{values.get('port', 8000)}"
    settings = Settings(**values)  # type: ignore[arg-type]
    _check_consistency(settings)
    return settings


def _check_consistency(settings: Settings) -> None:
    if not settings.database_url.startswith(("sqlite:", "postgresql:", "postgres:", "memory:")):
        raise SettingsError("DATABASE_URL must start with sqlite:, postgresql: or memory:")
    if not settings.demo_payment and not settings.session_secret:
        raise SettingsError("SESSION_SECRET must be set when DEMO_PAYMENT=false")
    if _is_postgres(settings.database_url) and not settings.session_secret:
        raise SettingsError(POSTGRES_WITHOUT_KEY_MESSAGE)
    if settings.session_secret and len(settings.session_secret) < 32:
        raise SettingsError("SESSION_SECRET must be at least 32 characters")
    if "USD" not in settings.credit_rates:
        raise SettingsError("CREDIT_RATES must include USD (minimums are stated in USD)")
    check_currencies(settings)
    _check_stripe(settings)


def check_currencies(settings: Settings) -> None:
    """CREDIT_RATES names only currencies mcpay knows the precision of (settings built in code are checked too)."""
    unknown = sorted(set(settings.credit_rates) - set(MINOR_DIGITS))
    if unknown:
        raise SettingsError(f"CREDIT_RATES names currencies mcpay does not support: {', '.join(unknown)}")


def check_workers(settings: Settings) -> None:
    """Several processes need a store they can share: SQLite's one file (or memory:) cannot be written by more.
    Checked by `mcpay serve` only: other commands run alone whatever WEB_CONCURRENCY says."""
    if settings.workers > 1 and not settings.database_url.startswith(("postgresql:", "postgres:")):
        store = "SQLite" if settings.database_url.startswith("sqlite:") else "memory:"
        raise SettingsError(
            f"{settings.workers} workers (--workers / WEB_CONCURRENCY) need PostgreSQL: {store} serves one "
            "process only; set DATABASE_URL=postgresql://... or run one worker"
        )


def with_overrides(overrides: Mapping[str, str | int | None]) -> None:
    """Command-line flags written over the environment, so that worker processes read the same settings."""
    for name, value in overrides.items():
        if value is not None:
            os.environ[name] = str(value)


def _check_stripe(settings: Settings) -> None:
    """Stripe's keys have fixed shapes; the messages never repeat a value, as they are secrets."""
    if settings.stripe_secret_key and not STRIPE_SECRET_KEY.fullmatch(settings.stripe_secret_key):
        raise SettingsError("STRIPE_SECRET_KEY must be a Stripe secret key (sk_test_..., sk_live_..., rk_...)")
    if any(not STRIPE_WEBHOOK_SECRET.fullmatch(secret) for secret in settings.stripe_webhook_secrets):
        raise SettingsError("STRIPE_WEBHOOK_SECRET must be one or more comma-separated whsec_... signing secrets")
