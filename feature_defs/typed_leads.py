"""Typed leads as columns: what ``FieldSet.coerce`` computes before it becomes a DataFrame.

Scoring one lead reads its ~30 typed fields several times (features, exclusions, due time,
reasons). Held in a DataFrame, that costs building the frame (about 0.5 ms for 30 typed
columns) and a Series for each first read of a column (about 1 ms in all): more than the
scoring itself. Held as arrays, it costs nothing. The scoring functions take either form and
read arrays through ``TypedLeads.of``; ``frame()`` gives the DataFrame ``coerce`` returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class TypedLeads:
    """Leads as ``name -> array`` (numpy or pandas extension array), all of one length.

    ``len`` is the number of leads, ``name in leads`` and ``leads[name]`` read a column: the
    array ``frame()[name]`` holds, whose ``tolist()`` and elements are the Series' own.
    """

    __slots__ = ("arrays", "index", "_frame")

    def __init__(self, arrays: dict[str, Any], index: pd.Index) -> None:
        self.arrays = arrays
        self.index = index
        self._frame: pd.DataFrame | None = None

    @classmethod
    def of(cls, leads: pd.DataFrame | TypedLeads) -> TypedLeads:
        """The columns of a frame (no copy), or ``leads`` itself when it is already columns."""
        if isinstance(leads, TypedLeads):
            return leads
        if not leads.columns.is_unique:
            dupes = sorted({str(c) for c in leads.columns[leads.columns.duplicated()]})
            raise ValueError(f"lead columns must be unique; repeated: {', '.join(dupes)}")
        out = cls({name: column_array(leads[name]) for name in leads.columns}, leads.index)
        out._frame = leads
        return out

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def __getitem__(self, name: str) -> Any:
        return self.arrays[name]

    def frame(self) -> pd.DataFrame:
        """The same leads as a DataFrame, built once."""
        if self._frame is None:
            self._frame = pd.DataFrame(self.arrays, index=self.index)
        return self._frame


def column_array(col: pd.Series) -> Any:
    """The array under a Series, as the Series itself reads it (its ``tolist``, its elements):
    numpy for numpy dtypes, the extension array otherwise, and pandas' datetime / timedelta
    arrays for datetime64 / timedelta64 (whose numpy form would give integers)."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype.kind not in "mM":
        return col.to_numpy()
    return col.array
