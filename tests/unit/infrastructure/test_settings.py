from __future__ import annotations

import pytest

from infrastructure.settings import ConfigurationError, load_settings

CONTRACT_VARIABLES = [
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "CHECKOUT_DATA_DIR",
    "HOST",
    "PORT",
    "CHECKOUT_JWT_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "RAZORPAY_KEY_ID",
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
    "RAZORPAY_API_BASE",
    "KAFKA_TOPIC_ORDER_CONFIRMED",
    "PAYMENT_TTL_SECONDS",
    "SANDBOX_PORT",
    "RATE_LIMIT_PER_CUSTOMER",
    "RATE_LIMIT_PER_IP",
    "CORS_ORIGINS",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.kafka_bootstrap_servers is None
    assert str(settings.checkout_data_dir) == ".data"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.kafka_topic_order_confirmed == "orders.confirmed"
    assert settings.payment_ttl_seconds == 1800
    assert settings.sandbox_port == 12111
    assert settings.rate_limit_per_customer == "60/minute"
    assert settings.rate_limit_per_ip == "1200/minute"
    assert settings.cors_origins == ()


def test_every_contract_variable_is_a_setting() -> None:
    aliases = {field.alias for field in type(load_settings()).model_fields.values()}
    assert set(CONTRACT_VARIABLES) <= aliases


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("SANDBOX_PORT", "0"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "postgresql://user@host:5432"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("KAFKA_BOOTSTRAP_SERVERS", "a:9092,b:notaport"),
        ("PAYMENT_TTL_SECONDS", "0"),
        ("RATE_LIMIT_PER_CUSTOMER", "lots"),
        ("RATE_LIMIT_PER_IP", "10/fortnight"),
        ("CORS_ORIGINS", "shop.example"),
        ("STRIPE_SECRET_KEY", "pk_test_123"),
        ("RAZORPAY_KEY_ID", "key_123"),
        ("KAFKA_TOPIC_ORDER_CONFIRMED", ""),
        ("CHECKOUT_JWT_SECRET", "too-short"),
    ],
)
def test_an_invalid_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_valid_values_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:@/postgres?host=/tmp/pg")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "a:9092,b:9093")
    monkeypatch.setenv("CORS_ORIGINS", "https://shop.example, http://localhost:5173")
    monkeypatch.setenv("RATE_LIMIT_PER_IP", "OFF")
    settings = load_settings()
    assert settings.database_url == "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert settings.cors_origins == ("https://shop.example", "http://localhost:5173")
    assert settings.rate_limit_per_ip == "off"


def test_single_roles_require_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h:5432/db")
    with pytest.raises(ConfigurationError, match=r"^KAFKA_BOOTSTRAP_SERVERS: required"):
        load_settings().require_services()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "h:9092")
    with pytest.raises(ConfigurationError, match=r"^CHECKOUT_JWT_SECRET: required"):
        load_settings().require_services()
    load_settings().require_services(jwt=False)


@pytest.mark.parametrize("value", ["-1", "20", "ten"])
def test_the_api_niceness_is_a_nice_value_that_only_lowers_priority(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("API_NICENESS", value)
    with pytest.raises(ConfigurationError, match="API_NICENESS"):
        load_settings()


@pytest.mark.parametrize("value", ["-1", "1001", "soon"])
def test_the_worker_gather_is_a_bounded_wait_in_milliseconds(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WORKER_GATHER_MS", value)
    with pytest.raises(ConfigurationError, match="WORKER_GATHER_MS"):
        load_settings()


def test_the_worker_gather_reaches_the_executors(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.bootstrap import Container, Services

    monkeypatch.setenv("WORKER_GATHER_MS", "120")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    settings = load_settings()
    container = Container(settings, Services.from_settings(settings, jwt=False))
    try:
        assert container.worker_options().executor.gather_seconds == 0.12
    finally:
        container.close()


@pytest.mark.parametrize("value", ["-1", "1001", "soon"])
def test_the_relay_gather_is_a_bounded_wait_in_milliseconds(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RELAY_GATHER_MS", value)
    with pytest.raises(ConfigurationError, match="RELAY_GATHER_MS"):
        load_settings()


def test_the_relay_gather_reaches_the_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.bootstrap import Container, Services

    monkeypatch.setenv("RELAY_GATHER_MS", "35")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    settings = load_settings()
    container = Container(settings, Services.from_settings(settings, jwt=False))
    try:
        assert container.relay_options().gather == 0.035
    finally:
        container.close()
