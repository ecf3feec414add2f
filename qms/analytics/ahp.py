"""AHP (Saaty): priorities from a pairwise comparison matrix, with the consistency ratio.

Method: the priorities are the principal right eigenvector of the reciprocal matrix A,
normalised to sum to 1 (numpy's general eigen-solver; the Perron root of a positive matrix is
real and simple, so the eigenvector can be taken positive). lambda_max is that eigenvalue;
CI = (lambda_max - n) / (n - 1); CR = CI / RI(n) with Saaty's classic random index
(n = 1..10: 0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49). A matrix of order 1 or 2 is
always consistent (CR = 0). CR < 0.10 is acceptable (Saaty 1980).

`most_inconsistent` explains a refusal: for each judgement a_ij above the diagonal it compares
the judgement with the ratio of the derived weights, w_i / w_j, that a perfectly consistent
matrix would hold there; the judgements that deviate most (by the factor
max(a_ij w_j / w_i, w_i / (a_ij w_j))) are the ones to revisit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45,
                10: 1.49}
RI_TABLE = "Saaty (1980) classic random index"
METHOD = "principal eigenvector"
CR_LIMIT = 0.10
SCALE = (1, 2, 3, 4, 5, 6, 7, 8, 9)  # Saaty's fundamental scale; reciprocals below the diagonal
RECIPROCAL_TOLERANCE = 1e-3


class AhpError(ValueError):
    """A matrix that is not a valid pairwise comparison matrix."""


@dataclass(frozen=True)
class AhpResult:
    weights: tuple[float, ...]
    lambda_max: float
    ci: float
    cr: float
    ri: float
    method: str = METHOD
    ri_table: str = RI_TABLE

    @property
    def consistent(self) -> bool:
        return self.cr < CR_LIMIT

    def as_dict(self, digits: int = 4) -> dict:
        return {"weights": [round(w, digits) for w in self.weights],
                "lambda_max": round(self.lambda_max, digits), "ci": round(self.ci, digits),
                "cr": round(self.cr, digits), "ri": self.ri, "method": self.method,
                "ri_table": self.ri_table, "consistent": self.consistent}


@dataclass(frozen=True)
class Judgement:
    i: int
    j: int
    given: float      # a_ij as entered
    implied: float    # w_i / w_j
    deviation: float  # >= 1: how many times the judgement is off


def check_matrix(matrix) -> np.ndarray:
    """The matrix as floats, or AhpError: square, positive, ones on the diagonal, reciprocal."""
    try:
        a = np.array(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AhpError("the matrix must hold numbers") from exc
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise AhpError("the matrix must be square and not empty")
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        raise AhpError(f"at most {max(RANDOM_INDEX)} criteria (the random index is tabled to 10)")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise AhpError("every judgement must be a positive number")
    if not np.allclose(np.diag(a), 1.0):
        raise AhpError("the diagonal must be 1 (each criterion equals itself)")
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1.0) > RECIPROCAL_TOLERANCE:
                raise AhpError(f"a[{i + 1},{j + 1}] and a[{j + 1},{i + 1}] must be reciprocal")
    return a


def from_upper(upper: dict[tuple[int, int], float], n: int) -> list[list[float]]:
    """A full reciprocal matrix from the judgements above the diagonal {(i, j): a_ij}, i < j."""
    m = [[1.0] * n for _ in range(n)]
    for (i, j), v in upper.items():
        if not (0 <= i < j < n):
            raise AhpError("judgements are given above the diagonal only")
        if v is None or not math.isfinite(v) or v <= 0:
            raise AhpError("every judgement must be a positive number")
        m[i][j] = float(v)
        m[j][i] = 1.0 / float(v)
    return m


def ahp_priorities(matrix) -> AhpResult:
    a = check_matrix(matrix)
    n = a.shape[0]
    if n == 1:
        return AhpResult((1.0,), 1.0, 0.0, 0.0, 0.0)
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lam = float(values[k].real)
    v = np.abs(vectors[:, k].real)
    w = v / v.sum()
    ci = (lam - n) / (n - 1)
    ri = RANDOM_INDEX[n]
    if n <= 2:
        ci, cr = 0.0, 0.0  # any 2x2 reciprocal matrix is consistent; rounding noise removed
        lam = float(n)
    else:
        ci = max(ci, 0.0)
        cr = ci / ri
    return AhpResult(tuple(float(x) for x in w), lam, ci, cr, ri)


def most_inconsistent(matrix, weights, k: int = 3) -> list[Judgement]:
    """The k judgements above the diagonal furthest from the ratio of the weights."""
    a = check_matrix(matrix)
    w = [float(x) for x in weights]
    n = a.shape[0]
    if len(w) != n:
        raise AhpError("one weight per criterion")
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            implied = w[i] / w[j]
            ratio = a[i, j] / implied
            out.append(Judgement(i, j, float(a[i, j]), float(implied),
                                float(max(ratio, 1.0 / ratio))))
    out.sort(key=lambda x: (-x.deviation, x.i, x.j))
    return out[:k]


def closest_scale_value(x: float) -> float:
    """The Saaty-scale judgement (1..9 or a reciprocal) nearest to x on a log scale: a
    suggestion for the judgement a consistent matrix would hold."""
    candidates = [float(s) for s in SCALE] + [1.0 / s for s in SCALE[1:]]
    return min(candidates, key=lambda c: abs(math.log(c) - math.log(x)))
