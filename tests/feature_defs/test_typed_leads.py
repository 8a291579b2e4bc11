"""Typed leads as columns: the same values, element for element, as the DataFrame they make."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feature_defs.typed_leads import TypedLeads, column_array


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": pd.Series(["a", None, "b"], dtype=object),
            "num": [1.5, np.nan, -0.0],
            "count": pd.array([3, None, 0], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "np_int": np.array([1, 2, 3], dtype=np.int64),
            "aware": pd.to_datetime(["2026-01-05T09:00Z", None, "2026-01-06T10:00Z"], utc=True),
            "naive": pd.to_datetime(["2026-01-05T09:00", None, "2026-01-06T10:00"]),
            "gap": pd.to_timedelta(["1h", None, "2h"]),
        },
        index=pd.Index([10, 11, 12]),
    )


def test_columns_read_as_the_series_do() -> None:
    frame = _frame()
    typed = TypedLeads.of(frame)
    assert len(typed) == 3 and "flag" in typed and "other" not in typed
    assert typed.frame() is frame and TypedLeads.of(typed) is typed
    for name in frame.columns:
        col = typed[name]
        assert not isinstance(col, pd.Series)
        ref = frame[name].tolist()
        got = col.tolist()
        assert [type(v) for v in got] == [type(v) for v in ref], name
        assert [repr(v) for v in got] == [repr(v) for v in ref], name
        assert [repr(col[i]) for i in range(3)] == [repr(frame[name].iloc[i]) for i in range(3)]
    # datetime64 as numpy would give integers: pandas' own arrays keep Timestamps
    assert isinstance(column_array(frame["naive"]).tolist()[0], pd.Timestamp)
    assert isinstance(column_array(frame["gap"]).tolist()[0], pd.Timedelta)
    assert isinstance(column_array(frame["num"]), np.ndarray)


def test_frame_is_built_once_with_the_index_and_dtypes() -> None:
    frame = _frame()
    typed = TypedLeads({name: column_array(frame[name]) for name in frame.columns}, frame.index)
    built = typed.frame()
    pd.testing.assert_frame_equal(built, frame, check_exact=True)
    assert typed.frame() is built


def test_repeated_column_names_are_refused_by_name() -> None:
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(ValueError, match="repeated: a"):
        TypedLeads.of(frame)
