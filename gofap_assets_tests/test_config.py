"""Settings: every variable of SPEC.md, clear errors naming the variable, secrets masked."""

import pytest

from gofap_assets.cli.main import main
from gofap_assets.config import ConfigError, Settings, mask_database_url


def test_defaults_match_the_spec() -> None:
    settings = Settings.from_env({})
    assert settings.linear_api_url == "https://api.linear.app/graphql"
    assert settings.github_api_url == "https://api.github.com"
    assert (settings.sync_interval_minutes, settings.max_retries,
            settings.timeout_seconds) == (60, 3, 30.0)
    assert settings.database_url == "sqlite:///payment_processor.db"
    assert settings.log_level == "INFO" and settings.log_file is None
    assert not settings.github_enabled and not settings.linear_enabled


def test_values_are_parsed_and_normalised() -> None:
    settings = Settings.from_env({"GITHUB_TOKEN": "ghp_x", "LOG_LEVEL": "debug",
                                  "MAX_RETRIES": "5", "TIMEOUT_SECONDS": "2.5",
                                  "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
                                  "LINEAR_API_KEY": "  "})
    assert settings.github_enabled and not settings.linear_enabled
    assert settings.log_level == "DEBUG" and settings.max_retries == 5
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_token is not None and "ghp_x" not in repr(settings)


@pytest.mark.parametrize(("env", "named"), [
    ({"MAX_RETRIES": "abc"}, "MAX_RETRIES='abc' must be a whole number"),
    ({"TIMEOUT_SECONDS": "-1"}, "TIMEOUT_SECONDS"),
    ({"SYNC_INTERVAL_MINUTES": "0"}, "SYNC_INTERVAL_MINUTES"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"DATABASE_URL": "mysql://u@h/db"}, "unsupported database 'mysql'"),
    ({"GITHUB_API_URL": "api.github.com"}, "GITHUB_API_URL"),
])
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    (problem,) = info.value.problems
    assert named in problem and "Value error" not in problem and "Input should" not in problem


def test_a_bad_database_url_error_never_shows_its_password() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DATABASE_URL": "oracle://admin:hunter2secret@db/x"})
    assert "hunter2secret" not in str(info.value)
    assert mask_database_url("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"


def test_plain_http_to_a_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError, match=r"^GITHUB_API_URL=\S+ would send credentials over plain"):
        Settings.from_env({"GITHUB_API_URL": "http://github.example.com"})
    assert Settings.from_env({"GITHUB_API_URL": "http://127.0.0.1:8765/github"})
    assert Settings.from_env({"GITHUB_API_URL": "http://github.example.com",
                              "GOFAP_ALLOW_INSECURE_HTTP": "1"})


def test_sources_say_where_each_value_came_from() -> None:
    sources = Settings.sources({"GITHUB_ORG": "acme"})
    assert sources["github_org"] == "GITHUB_ORG" and sources["max_retries"] == "default"


def test_the_cli_exits_2_on_bad_configuration(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MAX_RETRIES", "abc")
    assert main(["status"]) == 2
    assert "MAX_RETRIES='abc'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sync", "--service", "jira"])
    assert info.value.code == 2


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(("env", "named"), [
    ({"GITHUB_APP_ID": "123"}, "GITHUB_APP_ID is set without its key"),
    ({"GITHUB_APP_PRIVATE_KEY": "x"}, "without GITHUB_APP_ID"),
    ({"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY": "x",
      "GITHUB_APP_PRIVATE_KEY_PATH": "/k.pem"}, "both set"),
    ({"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY_PATH": "/no/such/key.pem"},
     "GITHUB_APP_PRIVATE_KEY_PATH=/no/such/key.pem: cannot read the key"),
    ({"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY": "ghp_not_a_key"},
     "GITHUB_APP_PRIVATE_KEY is not a PEM private key"),
    ({"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
      "-----END RSA PRIVATE KEY-----"}, "GITHUB_APP_PRIVATE_KEY holds no usable PEM"),
    ({"GOFAP_GITHUB_RATE_LIMIT_RESERVE": "-1"}, "GOFAP_GITHUB_RATE_LIMIT_RESERVE"),
    ({"GITHUB_APP_INSTALLATION_ID": "abc"}, "GITHUB_APP_INSTALLATION_ID"),
])
def test_github_app_settings_that_cannot_work_name_the_variable(env: dict[str, str],
                                                                named: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert named in str(info.value)
    assert "ghp_not_a_key" not in str(info.value)


def test_an_app_and_a_pool_of_tokens_are_one_configuration() -> None:
    pem = _pem()
    with pytest.raises(ConfigError, match="need GITHUB_ORG"):
        Settings.from_env({"GITHUB_APP_ID": "Iv23li1", "GITHUB_APP_PRIVATE_KEY": pem,
                           "GITHUB_TOKEN": "ghp_a"})
    settings = Settings.from_env({
        "GITHUB_APP_ID": "Iv23li1", "GITHUB_APP_PRIVATE_KEY": pem.replace("\n", "\\n"),
        "GITHUB_TOKEN": "ghp_a, ghp_b,,ghp_a", "GITHUB_ORG": "acme",
        "GOFAP_GITHUB_RATE_LIMIT_RESERVE": "500"})
    assert settings.github_enabled and settings.github_tokens == ["ghp_a", "ghp_b"]
    assert settings.github_rate_limit_reserve == 500
    assert settings.github_app_key_text() == pem
    assert settings.github_credentials == ("GitHub App Iv23li1 (installation on acme) + a pool "
                                           "of 2 tokens")
    assert pem.splitlines()[1] not in repr(settings)
    assert Settings.from_env({"GITHUB_TOKEN": " , "}).github_enabled is False


def test_config_info_masks_the_key_and_says_which_credentials(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pem = _pem()
    monkeypatch.setenv("GITHUB_APP_ID", "987")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", pem)
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", "42")
    monkeypatch.setenv("LINEAR_OAUTH_TOKEN", "lin_oauth_secret_value_123456")
    assert main(["config-info"]) == 0
    out = capsys.readouterr().out
    assert "GitHub App 987 (installation 42)" in out and "OAuth access token" in out
    assert pem.splitlines()[1] not in out and "lin_oauth_secret_value_123456" not in out
