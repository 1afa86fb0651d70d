"""The sweep store: one row per finished run, identity of the sweep, refusal of other stores."""

from __future__ import annotations

import hashlib
import math
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sweep_cheap import cheap_run  # noqa: E402

from neural.sweep import (  # noqa: E402
    SweepConfig,
    SweepStore,
    parse_data,
    parse_weights,
    read_rows,
    run_id,
)


def _config(**kw):
    base = dict(data="dsprites", objective="beta-vae", weights=(1, 2), seeds=(0, 1), steps=5)
    base.update(kw)
    return SweepConfig(**base)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_config_identity_and_round_trip():
    c = _config()
    assert c.weight_name == "beta"
    assert SweepConfig.from_dict(c.to_dict()) == c
    assert SweepConfig.from_dict(c.to_dict()).digest() == c.digest()
    # every field that changes a result changes the identity
    for change in (
        dict(weights=(1, 4)),
        dict(seeds=(0, 2)),
        dict(steps=6),
        dict(preset="paper"),
        dict(objective="factor-vae", weights=(1, 2)),
        dict(data="scenario:3-4-3:2"),
    ):
        assert _config(**change).digest() != c.digest(), change
    assert c.keys() == [
        ("beta-vae", 1.0, 0),
        ("beta-vae", 1.0, 1),
        ("beta-vae", 2.0, 0),
        ("beta-vae", 2.0, 1),
    ]
    assert run_id("beta-vae", 0.5, 2) == "beta-vae_w0p5_s2"
    assert run_id("beta-vae", 64.0, 0) == "beta-vae_w64_s0"


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "weights"),
        ("1,,2", "weights"),
        ("1,a", "weights"),
        ("1,-2", ">= 0"),
        ("1,nan", "finite"),
        ("1,2,1", "repeat"),
    ],
)
def test_bad_weights(text, match):
    with pytest.raises(ValueError, match=match):
        parse_weights(text)


def test_bad_config():
    with pytest.raises(ValueError, match="objective: unknown objective 'nope'"):
        _config(objective="nope")
    with pytest.raises(ValueError, match="weight"):
        _config(weight_name="gamma")  # beta-vae has no gamma
    with pytest.raises(ValueError, match="seeds"):
        _config(seeds=())
    with pytest.raises(ValueError, match="steps"):
        _config(steps=0)
    with pytest.raises(ValueError, match="preset"):
        _config(preset="gpu")
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        parse_data("mnist")
    with pytest.raises(ValueError, match="scenario:CONFIG:N"):
        parse_data("scenario:3-4-3:7")
    assert parse_data("scenario:3-4-3:2") == ("scenario:3-4-3:2", None)


def test_insert_once_and_read_back(tmp_path):
    c = _config()
    path = tmp_path / "s.sqlite"
    with SweepStore(path, c) as st:
        assert st.missing() == c.keys()
        task = c.task(1.0, 0, st.checkpoint_root)
        res = cheap_run(task)
        assert st.insert(
            ("beta-vae", 1.0, 0), res, task_config=task.to_dict(), git_revision="abc", wall_time=0.5
        )
        # a second insert of the same key never overwrites the first
        other = dict(res, rec_error=-1.0)
        assert not st.insert(
            ("beta-vae", 1.0, 0), other, task_config={}, git_revision="x", wall_time=1.0
        )
        assert st.missing() == c.keys()[1:]
    rows = read_rows(path)
    assert len(rows) == 1
    r = rows[0]
    assert r["rec_error"] == res["rec_error"] and r["git_revision"] == "abc"
    assert math.isnan(r["d_real"]) and math.isnan(r["sap"])  # not produced: NULL -> NaN
    assert r["status"] == "ok" and '"note": "seed 0"' in r["extra"]
    # reopening with the same configuration is fine
    with SweepStore(path, c) as st:
        assert st.completed() == {("beta-vae", 1.0, 0)}


def test_refuses_another_configuration_untouched(tmp_path):
    path = tmp_path / "s.sqlite"
    with SweepStore(path, _config()) as st:
        st.insert(
            ("beta-vae", 1.0, 0),
            {"rec_error": 1.0},
            task_config={},
            git_revision="a",
            wall_time=0.0,
        )
    before = _digest(path)
    with pytest.raises(ValueError, match="another sweep configuration.*Refusing to mix"):
        SweepStore(path, _config(weights=(1, 2, 4)))
    assert _digest(path) == before


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_refuses_non_sqlite_untouched(tmp_path, content):
    path = tmp_path / "s.sqlite"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not an SQLite file"):
        SweepStore(path, _config())
    with pytest.raises(ValueError, match="not an SQLite file"):
        SweepStore.open_readonly(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


def test_refuses_wrong_schema_untouched(tmp_path):
    path = tmp_path / "s.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE something (x INTEGER)")
    con.commit()
    con.close()
    before = _digest(path)
    with pytest.raises(ValueError, match="not a sweep store"):
        SweepStore(path, _config())
    assert _digest(path) == before
    # a truncated SQLite file (header intact, pages missing)
    good = tmp_path / "good.sqlite"
    SweepStore(good, _config()).close()
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(good.read_bytes()[:150])
    with pytest.raises(ValueError, match="store"):
        SweepStore(bad, _config())
    assert bad.stat().st_size == 150


def test_refuses_a_directory(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        SweepStore(tmp_path, _config())


def test_new_store_is_complete_or_absent(tmp_path):
    """The store is created in a temp file and renamed: no stray temp files remain; once
    closed it is one self-contained file (no -wal / -shm beside it)."""
    SweepStore(tmp_path / "s.sqlite", _config()).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
    SweepStore.open_readonly(tmp_path / "s.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
