"""Array types of the models' annotations."""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
"""The float64 arrays the models compute on (customers' data, parameters, Hessians)."""
NumberArray = npt.NDArray[np.floating[Any]] | npt.NDArray[np.integer[Any]]
"""Any numeric array (np.bincount's stubs say integer even when its weights make it float)."""
IndexArray = npt.NDArray[np.int64]
"""Positions into another array (e.g. each customer's row among the distinct values)."""
