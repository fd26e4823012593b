"""ato.tracking.values: metric keys, values and steps are checked before they are
buffered; configs and tags are stored as JSON."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from ato.db_routers.sql.manager import SQLLogger
from ato.errors import MetricValueError
from ato.tracking import SQLFinder
from ato.tracking.values import check_key, file_facts, jsonable, metric_number, step_number
from tests.tracking.helpers import make_config


@pytest.mark.parametrize("value", ["0.5", None, b"1", [1.0], 1j, object()])
def test_a_value_that_is_not_a_real_number_raises_naming_the_key(db_url, value):
    logger = SQLLogger(make_config(db_url))
    logger.run()
    with pytest.raises(MetricValueError, match="'val_loss'"):
        logger.log_metric("val_loss", value)
    logger.finish()


def test_a_step_the_database_cannot_hold_is_refused_naming_the_key(db_url):
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    logger.log_metric("loss", 1.0, step=2**40)  # beyond int32: BIGINT on PostgreSQL
    with pytest.raises(MetricValueError, match=r"'loss'.*step"):
        logger.log_metric("loss", 1.0, step=2**63)
    with pytest.raises(MetricValueError, match=r"'loss'.*too large"):
        logger.log_metric("loss", 10**400)
    with pytest.raises(MetricValueError, match="NUL"):
        logger.log_metric("lo\x00ss", 1.0)
    logger.log_metric("loss", 2.0)  # the buffer is not poisoned
    logger.finish()
    points = SQLFinder(make_config(db_url)).metrics(run_id, "loss")
    assert [(p.step, p.value) for p in points] == [(2**40, 1.0), (2**40 + 1, 2.0)]


def test_the_largest_step_then_a_default_step_is_refused_and_loses_nothing(db_url):
    # The step after 2**63 - 1 does not fit: it poisoned every later batch, and the run
    # read 'completed' with none of its points stored.
    logger = SQLLogger(make_config(db_url))
    run_id = logger.run()
    for step in range(100):
        logger.log_metric("loss", float(step))
    logger.log_metric("loss", 1.0, step=2**63 - 1)
    with pytest.raises(MetricValueError, match=r"'loss': the next step.*pass step="):
        logger.log_metric("loss", 2.0)
    logger.log_metric("acc", 0.5)
    logger.finish()
    finder = SQLFinder(make_config(db_url))
    assert len(finder.metrics(run_id, "loss")) == 101
    assert len(finder.metrics(run_id, "acc")) == 1


@pytest.mark.parametrize("step", [True, False])
def test_a_bool_is_no_step(db_url, step):
    logger = SQLLogger(make_config(db_url))
    logger.run()
    with pytest.raises(MetricValueError, match="step must be an integer"):
        logger.log_metric("loss", 1.0, step=step)
    logger.finish()


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_metric_key_is_refused(sqlite_url, key):
    with pytest.raises(MetricValueError, match="name the metric"):
        check_key(key)


@pytest.mark.parametrize(
    ("key", "message"),
    [("loss/\udcff.wav", "not valid Unicode"), ("k" * 2000, "at most 1024 bytes")],
)
def test_a_key_the_database_cannot_index_is_refused(sqlite_url, key, message):
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    with pytest.raises(MetricValueError, match=message):
        logger.log_metric(key, 1.0)
    logger.log_metric("loss", 1.0)
    logger.finish()
    assert [p.key for p in SQLFinder(make_config(sqlite_url)).metrics(run_id)] == ["loss"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metric_number("acc", "0.5"), "'acc' got str"),
        (lambda: metric_number("acc", 10**400), "too large"),
        (lambda: metric_number("acc", [1.0]), "log one element"),
        (lambda: step_number("acc", 1.5, -(2**63), 2**63 - 1), "step must be an integer"),
        (lambda: step_number("acc", 2**31, -(2**31), 2**31 - 1), "32-bit integers"),
        (lambda: step_number("acc", 2**63, -(2**63), 2**63 - 1), "64-bit integers"),
        (lambda: check_key(3), "must be a string"),
        (lambda: check_key("a\x00b"), "NUL"),
        (lambda: check_key("k" * 1025), "at most 1024 bytes"),
        (lambda: check_key("\udcff"), "not valid Unicode"),
    ],
)
def test_what_cannot_be_stored_is_refused_saying_why(call, message):
    with pytest.raises(MetricValueError, match=message):
        call()


def test_numbers_and_steps_that_can_be_stored_pass():
    assert metric_number("acc", 1) == 1.0 and math.isnan(metric_number("acc", math.nan))
    assert step_number("acc", 3, 0, 10) == 3
    check_key("loss/val")


def test_jsonable_keeps_data_and_stores_anything_else_as_its_repr():
    class Opaque:
        def __repr__(self):
            return "Opaque()"

    value = {"t": (1, 2), "s": {3, 1}, "nan": math.nan, 4: Path("a/b"), "o": Opaque()}
    assert jsonable(value) == {"t": [1, 2], "s": [1, 3], "nan": "nan", "4": "a/b", "o": "Opaque()"}


def test_file_facts_of_a_file_and_of_none(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"abc")
    size, digest = file_facts(os.fspath(path))
    assert size == 3 and digest.startswith("ba7816bf")
    assert file_facts(os.fspath(tmp_path / "missing")) == (None, None)
    assert file_facts(os.fspath(tmp_path)) == (None, None)


def test_an_artifact_is_stored_with_an_absolute_path(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.txt").write_text("x")
    logger = SQLLogger(make_config(sqlite_url))
    run_id = logger.run()
    logger.log_artifact(run_id, "small.txt")
    logger.log_artifact(run_id, "s3://bucket/model.pt")
    logger.finish()
    paths = [a.path for a in SQLFinder(make_config(sqlite_url)).find_run(run_id).artifacts]
    assert paths == [str(tmp_path / "small.txt"), "s3://bucket/model.pt"]


@pytest.mark.parametrize(
    ("run_id", "path", "message"),
    [
        ("abc", "a.txt", "run_id must be a run's id"),
        (None, "a.txt", "run_id must be a run's id"),
        (True, "a.txt", "run_id must be a run's id"),
        (1, 3.5, "file_path must be a path"),
        (1, "", "file_path is empty"),
        (999, "a.txt", "no run 999 in this database"),
    ],
)
def test_log_artifact_refuses_what_names_no_run_or_no_file(sqlite_url, run_id, path, message):
    from ato.errors import AtoError

    logger = SQLLogger(make_config(sqlite_url))
    logger.run()
    with pytest.raises(AtoError, match=message):
        logger.log_artifact(run_id, path)
    logger.finish()


def test_a_number_past_a_floats_range_is_refused_not_stored_as_inf():
    import decimal

    np = pytest.importorskip("numpy")
    for value in (np.longdouble("1e4000"), decimal.Decimal("1e4000")):
        if math.isinf(float(np.longdouble("1e4000"))) or isinstance(value, decimal.Decimal):
            with pytest.raises(MetricValueError, match="too large for a float"):
                metric_number("loss", value)
    assert metric_number("loss", math.inf) == math.inf
    assert metric_number("loss", decimal.Decimal("Infinity")) == math.inf


def test_one_element_arrays_and_tensors_are_their_element():
    import warnings

    np = pytest.importorskip("numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation or autograd warning leaks
        assert metric_number("loss", np.array([0.5])) == 0.5
        assert metric_number("loss", np.float32(0.25)) == 0.25
        torch = pytest.importorskip("torch")
        assert metric_number("loss", torch.tensor([0.5], requires_grad=True)) == 0.5
    with pytest.raises(MetricValueError, match="not a number"):
        metric_number("loss", np.array([0.5, 0.25]))
    for text in (np.array(["0.5"]), np.array(["nan"])):  # text, as "0.5" is
        with pytest.raises(MetricValueError, match="a metric is a real number"):
            metric_number("loss", text)


@pytest.mark.parametrize("value", [2**53 + 1, -(2**60) - 1])
def test_an_int_a_float_cannot_hold_exactly_is_stored_with_a_warning(value):
    """A metric is a 64-bit float: exact for ints up to 2**53; past that the value
    stored differs from the one logged, and saying nothing would be a silent change."""
    from ato.errors import AtoWarning

    with pytest.warns(AtoWarning, match=r"'tokens'.*stored as the float"):
        assert metric_number("tokens", value) == float(value)


def test_ints_a_float_holds_exactly_pass_without_a_warning(recwarn):
    for value in (2**53, -(2**53), 2**60, 10**18):  # 2**60 and 10**18 are floats exactly
        assert metric_number("tokens", value) == value
    assert not recwarn.list
