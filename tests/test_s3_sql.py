"""`starmill sql` over an s3:// warehouse: DuckDB reads it through the registered fsspec filesystem
(no extension), confined to the warehouse prefix like a local root. Each escape vector is one
``Error:`` line, shows no secret, and changes no object. Real SeaweedFS, real DuckDB."""

import pytest

from starmill.generators.procedural import generate_problems
from starmill.schemas import RejectRecord
from starmill.warehouse import Warehouse
from starmill.warehouse.sql import connect, query
from tests.helpers import run_cli as run

SECRET = "TOPSECRET-S3-4242"
PERMISSION = 'Error: Permission Error: Cannot access file "{}" - file system operations are disabled by configuration'
READ_ONLY = "Error: only SELECT queries are allowed here (got {}): the warehouse is read-only"


@pytest.fixture
def site(s3_root, s3fs_client):
    """Two versions in the warehouse; secrets next to it in the same bucket (a sibling prefix with the
    same beginning too) and in another bucket."""
    wh = Warehouse(s3_root)
    for seed, n in ((1, 10), (2, 15)):
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(n, seed=seed))
            writer.write([RejectRecord("s", 4, "missing_question", "no question", "{}")], table="rejects")
    bucket, prefix = s3_root[len("s3://") :].split("/", 1)
    secrets = {f"{bucket}/{prefix}-outside/secret.csv", f"{bucket}/{prefix}x/secret.csv", "private/secret.csv"}
    if not s3fs_client.exists("private"):
        s3fs_client.mkdir("private")
    for key in secrets:
        s3fs_client.pipe_file(key, f"key,value\n{SECRET},1\n".encode())
    return wh, sorted(f"s3://{k}" for k in secrets)


def snapshot(client, root):
    return {key: client.cat_file(key) for key in client.find(root[len("s3://") :])}


def vectors(root: str, secrets: list[str], endpoint: str) -> list[tuple[str, str]]:
    other_bucket, sibling, outside = secrets  # sorted: private/…, <prefix>-outside/…, <prefix>x/… (no slash)
    bucket = root[len("s3://") :].split("/", 1)[0]
    up = f"{root}/../{root.rsplit('/', 1)[1]}-outside/secret.csv"
    manifest = f"{root}/problems/v1/manifest.json"
    return [
        (f"SELECT * FROM read_text('{sibling}')", PERMISSION.format(sibling)),
        (f"SELECT * FROM read_csv('{outside}')", PERMISSION.format(outside)),  # the root's name + "x"
        (f"SELECT * FROM read_csv('{other_bucket}')", PERMISSION.format(other_bucket)),
        (f"SELECT * FROM read_text('{up}')", PERMISSION.format(up)),
        (f"SELECT * FROM '{sibling}'", PERMISSION.format(sibling)),  # replacement scan
        (f"SELECT * FROM glob('s3://{bucket}/*')", PERMISSION.format(f"s3://{bucket}/*")),
        ("SELECT * FROM glob('s3://*')", PERMISSION.format("s3://*")),
        (
            f"SELECT * FROM read_text('{sibling.replace('s3://', 's3a://')}')",
            PERMISSION.format(sibling.replace("s3://", "s3a://")),
        ),
        (
            f"SELECT * FROM read_text('{sibling.replace('s3://', 'S3://')}')",
            PERMISSION.format(sibling.replace("s3://", "S3://")),
        ),
        (
            f"SELECT * FROM read_text('{endpoint}/{other_bucket[len('s3://') :]}')",
            PERMISSION.format(f"{endpoint}/{other_bucket[len('s3://') :]}"),
        ),
        ("SELECT * FROM read_text('/proc/self/environ')", PERMISSION.format("/proc/self/environ")),
        ("SELECT * FROM read_csv('/etc/passwd')", PERMISSION.format("/etc/passwd")),
        (f"COPY problems TO '{root}/copy.csv'", READ_ONLY.format("COPY")),
        (f"COPY (SELECT 1) TO '{manifest}'", READ_ONLY.format("COPY")),
        ("INSTALL httpfs", READ_ONLY.format("LOAD")),
        ("LOAD httpfs", READ_ONLY.format("LOAD")),
        ("CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", READ_ONLY.format("CREATE")),
        ("SET s3_endpoint = 'evil:9000'", READ_ONLY.format("SET")),
        ("SET allowed_directories = ['s3://']", READ_ONLY.format("SET")),
        (
            f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{manifest}'",
            "Error: EXPLAIN ANALYZE runs the statement it explains: only a plain EXPLAIN of a SELECT is allowed",
        ),
        (
            "SELECT getenv('AWS_SECRET_ACCESS_KEY')",
            "Error: Catalog Error: Scalar Function with name getenv does not exist!",
        ),
    ]


def test_escape_vectors_on_s3_are_refused_and_change_nothing(site, s3_root, s3_env, s3fs_client, capsys):
    wh, secrets = site
    before = {key: s3fs_client.cat_file(key) for key in s3fs_client.find("starmill") + s3fs_client.find("private")}
    for sql, expected in vectors(s3_root, secrets, s3_env["AWS_ENDPOINT_URL"]):
        code, out, err = run(capsys, "sql", sql)
        assert (code, out, err) == (1, "", expected + "\n"), sql
        assert SECRET not in out + err and s3_env["AWS_SECRET_ACCESS_KEY"] not in out + err, sql
    after = {key: s3fs_client.cat_file(key) for key in s3fs_client.find("starmill") + s3fs_client.find("private")}
    assert after == before  # nothing written, nothing overwritten, in the warehouse or next to it


def test_a_parameter_cannot_smuggle_an_s3_path_out(site, capsys):
    _, secrets = site
    code, out, err = run(capsys, "sql", "SELECT * FROM read_text($p)", "-p", f"p={secrets[1]}")
    assert (code, out, err) == (1, "", PERMISSION.format(secrets[1]) + "\n")


def test_the_s3_connection_is_locked_to_the_prefix(site, s3_root):
    wh, _ = site
    session = connect(Warehouse(s3_root))
    found = query(session, "SELECT value FROM duckdb_settings() WHERE name = 'allowed_directories'").to_pylist()
    assert found == [{"value": f"['{s3_root}/']"}]
    assert session.con.list_filesystems() == ["s3"]  # read through our fsspec filesystem, not httpfs
    with pytest.raises(Exception, match="the configuration has been locked"):
        session.con.execute("SET enable_external_access = true")


def test_views_and_own_objects_read_on_s3(site, s3_root, capsys):
    assert run(capsys, "sql", "SELECT count(*) AS n FROM problems", "--csv")[1] == "n\n15\n"
    by_version = "SELECT version, count(*) AS n FROM problems_all GROUP BY 1 ORDER BY 1"
    assert run(capsys, "sql", by_version, "--csv")[1] == "version,n\n1,10\n2,15\n"
    assert run(capsys, "sql", "SELECT reason FROM problems_rejects", "--csv")[1] == "reason\nmissing_question\n"
    lineage = "SELECT dataset, version, tables->>'problems' AS rows FROM manifests ORDER BY version"
    assert run(capsys, "sql", lineage, "--csv")[1] == "dataset,version,rows\nproblems,1,10\nproblems,2,15\n"
    direct = f"SELECT content::JSON->>'dataset' AS d FROM read_text('{s3_root}/problems/v1/manifest.json')"
    assert run(capsys, "sql", direct, "--csv")[1] == "d\nproblems\n"
    code, out, _ = run(
        capsys, "sql", "SELECT count(*) AS n FROM problems WHERE length(question) > $m", "-p", "m:int=0", "--csv"
    )
    assert (code, out) == (0, "n\n15\n")
