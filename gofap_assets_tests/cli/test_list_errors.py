"""`gofap-import list-errors` and the two kinds in `status`, through the real command."""

import csv
import io
import json
from pathlib import Path

from gofap_assets.warehouse import Warehouse
from gofap_assets_tests.cli.conftest import cli
from gofap_assets_tests.warehouse.test_import_errors import NULLED, both_kinds


def _warehouse(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = Warehouse(url)
    store.create_schema()
    store.write(both_kinds())
    store.dispose()
    return {"DATABASE_URL": url}


def test_list_errors_filters_by_kind_in_every_format(tmp_path: Path) -> None:
    env = _warehouse(tmp_path)
    code, out, err = cli(["list-errors", "--kind", "field_note", "--format", "json"], env)
    assert code == 0, err
    (note,) = json.loads(out)
    assert (note["kind"], note["external_id"], note["reason"]) == ("field_note", "1", NULLED)
    assert note["seen_at"].endswith("Z") and note["raw_text"] == '"x"'

    code, out, _ = cli(["list-errors", "--kind", "quarantined", "--format", "csv"], env)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [(r["kind"], r["external_id"]) for r in rows] == [("quarantined", "9")]

    code, out, _ = cli(["list-errors", "--type", "issues"], env)
    assert code == 0 and "field_note" in out and "quarantined" in out and "number: missing" in out


def test_a_bad_filter_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = _warehouse(tmp_path)
    for args, named in ((["--kind", "broken"], "--kind"), (["--since", "yesterday"], "--since"),
                        (["--type", "nonsense"], "nonsense"), (["--limit", "0"], "--limit")):
        code, out, err = cli(["list-errors", *args], env)
        assert code == 2 and out == "", args
        assert len(err.strip().splitlines()) == 1 and named in err, err


def test_status_counts_all_rows_and_the_field_notes_among_them(tmp_path: Path) -> None:
    env = _warehouse(tmp_path)
    code, out, err = cli(["status", "--format", "json"], env)
    assert code == 0, err
    github = next(r for r in json.loads(out) if r["service"] == "github")
    # `quarantined` counts every import_errors row, as it always has; field_notes is a subset.
    assert (github["quarantined"], github["field_notes"]) == (2, 1)
    code, out, _ = cli(["status"], env)
    assert code == 0 and "field_notes" in out.splitlines()[0]
