"""`gofap-import archive` and `restore` through the real command."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from gofap_assets.warehouse import Warehouse
from gofap_assets.warehouse.schema import imported_data
from gofap_assets_tests.cli.conftest import cli
from gofap_assets_tests.warehouse.test_retention import OLD, _rows, _snapshot


def _warehouse(tmp_path: Path) -> tuple[Warehouse, dict[str, str]]:
    store = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    store.create_schema()
    with store.transaction() as conn:
        conn.execute(sa.insert(imported_data), _rows(7, OLD) + _rows(2, None)
                     + _rows(3, OLD, kind="pull_request"))
    return store, {"DATABASE_URL": store.url}


def test_archive_names_its_files_and_restore_puts_the_rows_back(tmp_path: Path) -> None:
    store, env = _warehouse(tmp_path)
    before = _snapshot(store)
    out_dir = tmp_path / "archive"

    code, out, err = cli(["archive", "--deleted-before", "2026-02-01", "--dry-run"], env)
    assert code == 0, err
    assert "github issue: 7 rows would be archived" in out
    assert "github pull_request: 3 rows would be archived" in out
    assert "dry run: 10 rows" in out and _snapshot(store) == before

    code, out, err = cli(["archive", "--deleted-before", "2026-02-01",
                          "--output-dir", str(out_dir)], env)
    assert code == 0, err
    files = [Path(p) for p in re.findall(r"archived to (\S+\.parquet)", out)]
    assert sorted(p.name.split("-deleted-")[0] for p in files) == ["github-issue",
                                                                   "github-pull_request"]
    assert all(p.exists() and p.parent == out_dir for p in files)
    assert len(_snapshot(store)) == 2

    code, out, err = cli(["restore", *map(str, files)], env)
    assert code == 0, err
    assert "7 of 7 rows restored" in out and "3 of 3 rows restored" in out
    assert _snapshot(store) == before


def test_bad_input_is_one_line_exit_2_and_touches_nothing(tmp_path: Path) -> None:
    store, env = _warehouse(tmp_path)
    before = _snapshot(store)
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    for args, named in ((["archive", "--deleted-before", future], "in the future"),
                        (["archive", "--deleted-before", "soon"], "not a date"),
                        (["restore", str(junk)], "junk.parquet"),
                        (["restore", str(tmp_path / "gone.parquet")], "gone.parquet")):
        code, out, err = cli(args, env)
        assert code == 2, (args, out, err)
        assert len(err.strip().splitlines()) == 1 and named in err, (args, err)
        assert "Traceback" not in out + err
    assert _snapshot(store) == before
