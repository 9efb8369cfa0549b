"""Random variates for process times, failures and arrivals.

A distribution is data (a pydantic model chosen by its ``dist`` field) and becomes a sampler
bound to one named random stream at plant assembly. Samplers draw in blocks from numpy and hand
out one float at a time, so the per-draw cost inside the event loop is a generator step, not a
numpy call; the sequence of values a stream produces does not depend on the block size.

Location and scale parameters take units (``"5 min"``); bare numbers are SI (seconds), or a
count for the ``cycles`` failure basis.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Any, Callable, Literal, Union

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .units import Seconds, to_si

__all__ = ["Distribution", "make_sampler", "mean_of", "coerce_distribution"]

BLOCK = 512


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Constant(_Dist):
    dist: Literal["constant"] = "constant"
    value: Seconds = Field(ge=0)

    def mean(self) -> float:
        return self.value


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: Seconds = Field(ge=0)
    high: Seconds

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: Seconds = Field(ge=0)
    mode: Seconds
    high: Seconds

    @model_validator(mode="after")
    def _order(self):
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError(f"need low <= mode <= high and low < high (got {self.low}, {self.mode}, {self.high})")
        return self

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean_: Seconds = Field(alias="mean", gt=0)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, populate_by_name=True)

    def mean(self) -> float:
        return self.mean_


class Normal(_Dist):
    """Normal, truncated at 0 by rejection (the mean reported is that of the untruncated law)."""

    dist: Literal["normal"]
    mean_: Seconds = Field(alias="mean", gt=0)
    sd: Seconds = Field(ge=0)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, populate_by_name=True)

    def mean(self) -> float:
        return self.mean_


class Lognormal(_Dist):
    """Lognormal given by the mean and standard deviation of the variable itself."""

    dist: Literal["lognormal"]
    mean_: Seconds = Field(alias="mean", gt=0)
    sd: Seconds = Field(gt=0)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, populate_by_name=True)

    def mean(self) -> float:
        return self.mean_

    def log_params(self) -> tuple[float, float]:
        s2 = math.log1p((self.sd / self.mean_) ** 2)
        return math.log(self.mean_) - 0.5 * s2, math.sqrt(s2)


class Gamma(_Dist):
    """Gamma with shape k and either scale or mean (mean = k * scale)."""

    dist: Literal["gamma"]
    shape: float = Field(gt=0)
    scale: Seconds | None = Field(default=None, gt=0)
    mean_: Seconds | None = Field(default=None, alias="mean", gt=0)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one(self):
        if (self.scale is None) == (self.mean_ is None):
            raise ValueError("give exactly one of 'scale' or 'mean'")
        return self

    def theta(self) -> float:
        return self.scale if self.scale is not None else self.mean_ / self.shape

    def mean(self) -> float:
        return self.shape * self.theta()


class Erlang(_Dist):
    """Erlang-k: sum of k exponential phases; mean is the total."""

    dist: Literal["erlang"]
    k: int = Field(ge=1)
    mean_: Seconds = Field(alias="mean", gt=0)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, populate_by_name=True)

    def mean(self) -> float:
        return self.mean_


class Weibull(_Dist):
    dist: Literal["weibull"]
    shape: float = Field(gt=0)
    scale: Seconds = Field(gt=0)
    location: Seconds = Field(default=0.0, ge=0)

    def mean(self) -> float:
        return self.location + self.scale * math.gamma(1.0 + 1.0 / self.shape)


class Empirical(_Dist):
    """Observed values: drawn with the given probabilities (default equal), or, with
    ``interpolate: true``, from the piecewise-linear empirical CDF through the sorted values."""

    dist: Literal["empirical"]
    values: list[Seconds] = Field(min_length=1)
    probabilities: list[float] | None = None
    interpolate: bool = False

    @model_validator(mode="after")
    def _check(self):
        if any(v < 0 for v in self.values):
            raise ValueError("values must be >= 0")
        if self.probabilities is not None:
            if len(self.probabilities) != len(self.values):
                raise ValueError(
                    f"probabilities has {len(self.probabilities)} entries but values has {len(self.values)}"
                )
            if any(p < 0 for p in self.probabilities) or not math.isclose(sum(self.probabilities), 1.0, rel_tol=1e-6):
                raise ValueError("probabilities must be >= 0 and sum to 1")
            if self.interpolate:
                raise ValueError("interpolate works on equally weighted values; drop probabilities")
        if self.interpolate and len(self.values) < 2:
            raise ValueError("interpolate needs at least two values")
        return self

    def mean(self) -> float:
        if self.interpolate:
            v = sorted(self.values)
            return sum(0.5 * (a + b) for a, b in zip(v, v[1:])) / (len(v) - 1)
        p = self.probabilities or [1.0 / len(self.values)] * len(self.values)
        return sum(a * b for a, b in zip(self.values, p))


def coerce_distribution(v: Any) -> Any:
    """A bare number or a string with unit is shorthand for a constant."""
    if isinstance(v, (int, float, str)) and not isinstance(v, bool):
        return {"dist": "constant", "value": v}
    if isinstance(v, dict) and "dist" not in v and set(v) == {"value"}:
        return {"dist": "constant", **v}
    return v


Distribution = Annotated[
    Union[Constant, Uniform, Triangular, Exponential, Normal, Lognormal, Gamma, Erlang, Weibull, Empirical],
    Field(discriminator="dist"),
    BeforeValidator(coerce_distribution),
]


def mean_of(d) -> float:
    return d.mean()


def _block_fn(d, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    if isinstance(d, Uniform):
        return lambda n: rng.uniform(d.low, d.high, n)
    if isinstance(d, Triangular):
        return lambda n: rng.triangular(d.low, d.mode, d.high, n)
    if isinstance(d, Exponential):
        return lambda n: rng.exponential(d.mean_, n)
    if isinstance(d, Normal):
        def normal(n):
            x = rng.normal(d.mean_, d.sd, n)
            neg = x < 0
            while neg.any():  # truncation at 0 by rejection keeps the stream deterministic
                x[neg] = rng.normal(d.mean_, d.sd, int(neg.sum()))
                neg = x < 0
            return x
        return normal
    if isinstance(d, Lognormal):
        mu, sigma = d.log_params()
        return lambda n: rng.lognormal(mu, sigma, n)
    if isinstance(d, Gamma):
        return lambda n: rng.gamma(d.shape, d.theta(), n)
    if isinstance(d, Erlang):
        return lambda n: rng.gamma(d.k, d.mean_ / d.k, n)
    if isinstance(d, Weibull):
        return lambda n: d.location + d.scale * rng.weibull(d.shape, n)
    if isinstance(d, Empirical):
        vals = np.asarray(d.values, dtype=float)
        if d.interpolate:
            xs = np.sort(vals)
            ps = np.linspace(0.0, 1.0, len(xs))
            return lambda n: np.interp(rng.random(n), ps, xs)
        p = None if d.probabilities is None else np.asarray(d.probabilities, dtype=float)
        return lambda n: rng.choice(vals, size=n, p=p)
    raise TypeError(f"unknown distribution {d!r}")


def _blocks(fn: Callable[[int], np.ndarray]):
    while True:
        yield from fn(BLOCK).tolist()


def make_sampler(d, rng: np.random.Generator) -> Callable[[], float]:
    """Return a zero-argument callable drawing successive values of ``d`` from ``rng``."""
    if isinstance(d, Constant):
        return itertools.repeat(float(d.value)).__next__
    return _blocks(_block_fn(d, rng)).__next__
