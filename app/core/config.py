"""The one settings object, read from ``LIFELINE_*`` environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT_DIR = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIFELINE_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    # Empty means the embedded SQLite file under data_dir.
    database_url: str = ""
    # Public origin used in printed QR codes and letters, e.g. https://lifeline.city.kazo.example
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # Secret used to sign CSRF cookies. Generated into the data directory when not given.
    secret_key: str = ""
    # Cookies get the Secure flag; on by default outside development.
    secure_cookies: bool | None = None
    session_hours: int = 12
    api_token_hours: int = 12
    # A paramedic's session on an enrolled device ends with the shift.
    shift_hours: int = Field(default=12, ge=1, le=24)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    default_language: Literal["ja", "en"] = "ja"
    timezone: str = "Asia/Tokyo"
    # Database connections per worker process (pool plus overflow). Requests inside the app are
    # capped below that (app/core/admission.py) so a burst queues instead of stalling on the pool.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=20, ge=0, le=200)
    # Upload limit for imports (bytes).
    max_upload_bytes: int = 20 * 1024 * 1024
    # Audit log (docs/audit.md): a signed checkpoint every N records, and the thresholds above
    # which accesses are flagged for review on the admin audit page.
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    audit_burst_persons: int = Field(default=20, ge=2)  # distinct persons viewed by one account …
    audit_burst_minutes: int = Field(default=10, ge=1)  # … within this many minutes
    audit_odd_hours_start: int = Field(default=22, ge=0, le=23)  # JST hour, inclusive
    audit_odd_hours_end: int = Field(default=6, ge=0, le=23)  # JST hour, exclusive
    audit_odd_hours_roles: str = "admin,staff"  # crews and doctors work at night; office roles do not
    audit_anomaly_days: int = Field(default=30, ge=1)  # how far back the anomaly panel looks
    # Field encryption key ring (app/core/crypto.py; never in the database). The first one set wins:
    # LIFELINE_FIELD_KEYS (the ring's JSON itself, e.g. from a secret store), LIFELINE_FIELD_KEYS_FILE
    # (a path to it), else data_dir/keys/field-keys.json, created on first start.
    field_keys: SecretStr = SecretStr("")
    field_keys_file: Path | None = None
    # Logs (app/core/logs.py): one JSON object per line, or text; unset: json in production, else text.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # HSTS is sent when a request came over https, or always when this says a TLS proxy is in front
    # (unset: when public_url is https). Never on plain-http development servers.
    behind_tls: bool | None = None
    # Request rate limits (app/core/ratelimit.py, the `limits` library), "N/second|minute|hour", several
    # joined by ";". The counters live in rate_limit_storage: memory:// is per process, so with several
    # workers use a shared store (redis://host:6379, memcached://…) or each worker counts on its own.
    rate_limit_storage: str = "memory://"
    rate_limit_sign_in: str = "20/minute"  # web sign-in and API token, per client address …
    rate_limit_sign_in_user: str = "10/minute"  # … and per user name typed
    rate_limit_code: str = "10/minute;30/hour"  # resident letter code and device enrolment code, per address
    rate_limit_scan: str = "120/minute"  # card scans, per device: a busy crew never reaches it
    rate_limit_card_page: str = "60/minute"  # the public card page /C/…, per address
    rate_limit_fhir: str = "600/minute"  # FHIR API, per client (token), and its token endpoint per address

    @field_validator(
        "rate_limit_sign_in",
        "rate_limit_sign_in_user",
        "rate_limit_code",
        "rate_limit_scan",
        "rate_limit_card_page",
        "rate_limit_fhir",
    )
    @classmethod
    def _parsable_limit(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)  # a typo refuses to start rather than leaving an endpoint unlimited
        return value

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key and len(self.secret_key) < 32:
                raise ValueError("LIFELINE_SECRET_KEY must be at least 32 characters in production")
            if self.secret_key in {"change-me", "secret", "development"}:
                raise ValueError("LIFELINE_SECRET_KEY is a default value; set a real secret")
            if self.public_url.startswith("http://"):
                raise ValueError("LIFELINE_PUBLIC_URL must be https:// in production")
        return self

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the common "postgresql://" spelling and use psycopg 3.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.resolved_data_dir / 'lifeline.sqlite3'}"

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.environment == "production"

    @property
    def sends_hsts(self) -> bool:
        """Strict-Transport-Security on every answer, not only on requests seen as https."""
        return self.behind_tls if self.behind_tls is not None else self.public_url.startswith("https://")

    def signing_secret(self) -> str:
        """The CSRF signing secret: configured, or generated once into the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.resolved_data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
