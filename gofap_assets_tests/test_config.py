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
