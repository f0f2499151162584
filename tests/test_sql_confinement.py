"""`starmill sql` is confined at the connection: no read outside the warehouse, no write anywhere.

Every escape vector must come back as one ``Error:`` line with exit 1, print no outside secret, and
leave every byte under the warehouse root as it was. Real DuckDB, real Parquet files.
"""

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from starmill.generators.procedural import generate_problems
from starmill.warehouse import QueryError, Warehouse
from starmill.warehouse.sql import connect, parse_param, query
from tests.helpers import run_cli as run

SECRET = "TOPSECRET-4242"
TOKEN = "hf_SECRETTOKEN0123"
PERMISSION = 'Error: Permission Error: Cannot access file "{}" - file system operations are disabled by configuration'
READ_ONLY = "Error: only SELECT queries are allowed here (got {}): the warehouse is read-only"
ANALYZE = "Error: EXPLAIN ANALYZE runs the statement it explains: only a plain EXPLAIN of a SELECT is allowed"
NOT_ALLOWED = "Error: table function {}() is not allowed here: query the warehouse's views"


@pytest.fixture
def site(warehouse_root, tmp_path, monkeypatch):
    """A warehouse with one dataset, secrets next to it, and links inside it that point at them."""
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    wh = Warehouse(warehouse_root)
    with wh.writer("problems", "problems") as writer:
        writer.write(generate_problems(5, seed=1))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(f"key,value\n{SECRET},1\n")
    (outside / "secret.json").write_text(f'{{"key": "{SECRET}"}}\n')
    pq.write_table(pa.table({"key": [SECRET]}), outside / "secret.parquet")
    (warehouse_root / "leak.csv").symlink_to(outside / "secret.csv")
    (warehouse_root / "linkdir").symlink_to(outside, target_is_directory=True)
    return Path(warehouse_root).resolve(), outside


def snapshot(root: Path) -> dict[str, bytes]:
    """Every entry under ``root`` (links as their targets, not followed)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path)] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[str(path)] = path.read_bytes()
        else:
            found[str(path)] = b"<dir>"
    return found


def vectors(root: Path, out: Path) -> list[tuple[str, str]]:
    """(SQL, the exact error line it must give)."""
    manifest = root / "problems" / "v1" / "manifest.json"
    return [
        ("SELECT * FROM read_text('/proc/self/environ')", PERMISSION.format("/proc/self/environ")),
        ("SELECT * FROM read_blob('/proc/self/environ')", PERMISSION.format("/proc/self/environ")),
        ("SELECT * FROM read_csv('/etc/passwd')", PERMISSION.format("/etc/passwd")),
        (f"SELECT * FROM read_csv('{out}/secret.csv')", PERMISSION.format(f"{out}/secret.csv")),
        (f"SELECT * FROM read_json('{out}/secret.json')", PERMISSION.format(f"{out}/secret.json")),
        (f"SELECT * FROM read_parquet('{out}/secret.parquet')", PERMISSION.format(f"{out}/secret.parquet")),
        (f"SELECT * FROM parquet_metadata('{out}/secret.parquet')", PERMISSION.format(f"{out}/secret.parquet")),
        ("SELECT * FROM sniff_csv('/etc/passwd')", PERMISSION.format("/etc/passwd")),
        ("SELECT * FROM glob('/*')", PERMISSION.format("/*")),
        (f"SELECT * FROM '{out}/secret.csv'", PERMISSION.format(f"{out}/secret.csv")),  # replacement scan
        (f"SELECT * FROM '{root}/leak.csv'", PERMISSION.format(f"{root}/leak.csv")),  # a link in the root
        (f"SELECT * FROM read_csv('{root}/linkdir/secret.csv')", PERMISSION.format(f"{root}/linkdir/secret.csv")),
        (
            f"SELECT * FROM read_text('{root}/../outside/secret.csv')",
            PERMISSION.format(f"{root}/../outside/secret.csv"),
        ),
        (
            "WITH t AS (SELECT content FROM read_text('/proc/self/environ')) SELECT * FROM t",
            PERMISSION.format("/proc/self/environ"),
        ),
        (
            "SELECT * FROM problems WHERE question IN (SELECT content FROM read_text('/proc/self/environ'))",
            PERMISSION.format("/proc/self/environ"),
        ),
        ("DESCRIBE SELECT * FROM read_text('/proc/self/environ')", PERMISSION.format("/proc/self/environ")),
        ("SELECT * FROM read_text('.tmp/x')", PERMISSION.format(".tmp/x")),  # no spill folder allowed
        (f"COPY (SELECT 1) TO '{manifest}'", READ_ONLY.format("COPY")),
        (f"COPY problems TO '{root}/copy.csv'", READ_ONLY.format("COPY")),
        (f"COPY problems FROM '{out}/secret.csv'", READ_ONLY.format("COPY")),
        (f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{manifest}' (FORMAT csv)", ANALYZE),
        (f"/* hi */ EXPLAIN /* there */ ANALYSE COPY (SELECT 1) TO '{manifest}'", ANALYZE),
        ("EXPLAIN ANALYZE INSTALL httpfs", ANALYZE),
        ("EXPLAIN ANALYZE SELECT 1", ANALYZE),
        (
            f"EXPLAIN (ANALYZE) COPY (SELECT 1) TO '{manifest}'",
            "Error: EXPLAIN with options is not allowed here: use a plain EXPLAIN SELECT …",
        ),
        (
            f"EXPLAIN COPY (SELECT 1) TO '{manifest}'",
            "Error: only a plain EXPLAIN of a SELECT is allowed here (got EXPLAIN COPY)",
        ),
        ("INSTALL httpfs", READ_ONLY.format("LOAD")),
        ("LOAD httpfs", READ_ONLY.format("LOAD")),
        (f"ATTACH '{root}/evil.db' AS evil", READ_ONLY.format("ATTACH")),
        ("SET enable_external_access = true", READ_ONLY.format("SET")),
        ("SET lock_configuration = false", READ_ONLY.format("SET")),
        ("RESET allowed_directories", READ_ONLY.format("SET")),
        ("SET VARIABLE x = 1", READ_ONLY.format("SET")),
        ("PRAGMA enable_profiling", READ_ONLY.format("PRAGMA")),
        ("CALL enable_logging()", READ_ONLY.format("CALL")),
        ("CHECKPOINT", READ_ONLY.format("CALL")),
        ("CREATE TABLE t AS SELECT 1", READ_ONLY.format("CREATE")),
        ("CREATE VIEW v AS SELECT 1", READ_ONLY.format("CREATE")),
        ("CREATE MACRO m(x) AS x", READ_ONLY.format("CREATE")),
        ("DROP VIEW problems", READ_ONLY.format("DROP")),
        ("DELETE FROM problems", READ_ONLY.format("DELETE")),
        (f"EXPORT DATABASE '{root}/exported'", READ_ONLY.format("EXPORT")),
        (f"SELECT 1; COPY (SELECT 1) TO '{root}/x.csv'", "Error: give one statement at a time (got 2)"),
        ("SELECT 1; SELECT 2", "Error: give one statement at a time (got 2)"),
        ("SELECT * FROM query('SELECT * FROM read_text(''/proc/self/environ'')')", NOT_ALLOWED.format("query")),
        ("SELECT * FROM query_table('problems')", NOT_ALLOWED.format("query_table")),
        ("SELECT * FROM arrow_scan(1, 2, 3)", NOT_ALLOWED.format("arrow_scan")),  # raw pointers: a crash
        ("SELECT * FROM enable_logging()", NOT_ALLOWED.format("enable_logging")),
        ("SELECT * FROM force_checkpoint()", NOT_ALLOWED.format("force_checkpoint")),
        ("SELECT getenv('HF_TOKEN')", "Error: Catalog Error: Scalar Function with name getenv does not exist!"),
    ]


def test_escape_vectors_are_refused_and_change_nothing(site, capsys):
    root, outside = site
    before, outside_before = snapshot(root), snapshot(outside)
    cases = vectors(root, outside)
    assert len(cases) >= 40
    for sql, expected in cases:
        code, out, err = run(capsys, "sql", sql)
        assert (code, err) == (1, expected + "\n"), sql
        assert out == "", sql
        assert SECRET not in out + err and TOKEN not in out + err, sql
        assert snapshot(root) == before, sql  # nothing written, nothing overwritten, inside the root
    assert snapshot(outside) == outside_before
    assert not Path("copy.csv").exists()


def test_a_parameter_cannot_smuggle_a_path_out(site, capsys):
    code, out, err = run(capsys, "sql", "SELECT * FROM read_text($p)", "-p", "p=/proc/self/environ")
    assert (code, err) == (1, PERMISSION.format("/proc/self/environ") + "\n")
    assert TOKEN not in out + err


def test_the_connection_is_locked_before_user_sql(site):
    root, _ = site
    session = connect(Warehouse(root))
    settings = query(
        session,
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('allowed_directories', "
        "'enable_external_access', 'autoinstall_known_extensions', 'autoload_known_extensions', "
        "'lock_configuration', 'temp_directory', 'python_enable_replacements') ORDER BY name",
    )
    assert settings.to_pylist() == [
        {"name": "allowed_directories", "value": f"[{root}/]"},
        {"name": "autoinstall_known_extensions", "value": "false"},
        {"name": "autoload_known_extensions", "value": "false"},
        {"name": "enable_external_access", "value": "false"},
        {"name": "lock_configuration", "value": "true"},
        {"name": "python_enable_replacements", "value": "false"},
        {"name": "temp_directory", "value": ""},
    ]
    with pytest.raises(Exception, match="the configuration has been locked"):
        session.con.execute("SET enable_external_access = true")  # even outside the statement check


def test_views_and_warehouse_files_still_read(site, capsys):
    root, _ = site
    assert run(capsys, "sql", "SELECT count(*) AS n FROM problems", "--csv")[1] == "n\n5\n"
    assert run(capsys, "sql", "SELECT count(*) AS n FROM problems_all WHERE version = 1", "--csv")[1] == "n\n5\n"
    assert run(capsys, "sql", "SELECT dataset, version FROM manifests", "--csv")[1] == "dataset,version\nproblems,1\n"
    # the warehouse's own files may be read directly: they are what the views read
    direct = f"SELECT content::JSON->>'dataset' AS d FROM read_text('{root}/problems/v1/manifest.json')"
    assert run(capsys, "sql", direct, "--csv")[1] == "d\nproblems\n"
    code, out, _ = run(capsys, "sql", "EXPLAIN SELECT count(*) FROM problems", "--csv")
    assert code == 0 and out.startswith("explain_key,explain_value\nphysical_plan,")
    code, out, _ = run(capsys, "sql", "DESCRIBE problems", "--csv")
    assert code == 0 and "\nquestion,VARCHAR," in out


def test_parameters_are_strings_unless_typed(site, capsys):
    sql = "SELECT $a AS a, typeof($a) AS t"
    assert run(capsys, "sql", sql, "-p", "a=007", "--csv")[1] == "a,t\n007,VARCHAR\n"
    assert run(capsys, "sql", sql, "-p", "a:int=007", "--csv")[1] == "a,t\n7,INTEGER\n"
    assert run(capsys, "sql", sql, "-p", "a:float=2.5", "--csv")[1] == "a,t\n2.5,DOUBLE\n"
    assert run(capsys, "sql", sql, "-p", "a:bool=yes", "--csv")[1] == "a,t\nTrue,BOOLEAN\n"
    assert run(capsys, "sql", sql, "-p", "a:str=x=y", "--csv")[1] == "a,t\nx=y,VARCHAR\n"
    # the README's example: a gold answer with a leading zero stays a string
    gold = run(capsys, "sql", "SELECT gold_answer FROM problems LIMIT 1", "--csv")[1].split("\n")[1]
    code, out, _ = run(
        capsys, "sql", "SELECT count(*) AS n FROM problems WHERE gold_answer = $a", "-p", f"a={gold}", "--csv"
    )
    assert (code, out) == (0, "n\n1\n")
    assert (
        run(capsys, "sql", "SELECT count(*) AS n FROM problems WHERE gold_answer = $a", "-p", "a=007", "--csv")[1]
        == "n\n0\n"
    )


@pytest.mark.parametrize(
    "param,message",
    [
        ("a", "Error: bad parameter 'a': use NAME=VALUE, or NAME:TYPE=VALUE with TYPE int, float, bool, str"),
        ("a:int=x", "Error: bad parameter 'a:int=x': 'x' is not of type int"),
        ("a:bool=maybe", "Error: bad parameter 'a:bool=maybe': 'maybe' is not of type bool"),
        ("a:date=2020", "Error: bad parameter 'a:date=2020': type 'date' is not one of int, float, bool, str"),
        ("b=1", "Error: parameter(s) not used by the query: b"),
    ],
)
def test_bad_parameters_are_one_error_line(site, capsys, param, message):
    code, out, err = run(capsys, "sql", "SELECT 1 AS one", "-p", param)
    assert (code, out, err) == (1, "", message + "\n")


def test_parse_param_keeps_values_as_given():
    assert parse_param("a=007") == ("a", "007")
    assert parse_param("a=") == ("a", "")
    assert parse_param("n:int=-3") == ("n", -3)
    assert parse_param("f:bool=False") == ("f", False)
    with pytest.raises(QueryError, match="is not of type float"):
        parse_param("x:float=abc")


def test_a_setting_that_does_not_take_is_an_error(site, monkeypatch):
    """Every setting is read back: one that reads back other than it was set (a DuckDB that ignores or
    renamed it) fails the connection instead of leaving a hole."""
    from starmill.warehouse import sql_guard

    root, _ = site
    real = sql_guard.confinement

    def expecting_other(*args, **kwargs):
        return [
            (name, value, "other" if name == "enable_external_access" else back)
            for name, value, back in real(*args, **kwargs)
        ]

    monkeypatch.setattr(sql_guard, "confinement", expecting_other)
    with pytest.raises(QueryError) as caught:
        connect(Warehouse(root))
    assert (
        str(caught.value) == "could not confine DuckDB to the warehouse (settings: {'enable_external_access': False})"
    )
