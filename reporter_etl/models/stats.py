"""Experiment comparisons from per-branch sufficient statistics.

SQL sums each session-level outcome per experiment x branch (n, sum, sum of squares); this module turns those
sums into the columns of the experiment mart. Notation: c = control, t = treatment, m = mean, v = sample
variance (ddof=1), n = sessions, d = m_t - m_c, Phi / T_df / chi2_k = normal / Student t / chi-square
distributions (scipy.stats). Sources: GrowthBook's engine gbstats (growthbook/growthbook,
packages/stats/gbstats/: frequentist/tests.py, utils.py, models/statistics.py) and Waudby-Smith et al. 2023,
"Time-uniform central limit theory and asymptotic confidence sequences" (arXiv:2103.06476).

- mean = sum / n; v = (n * sum_sq - sum^2) / (n * (n - 1)), evaluated in exact rationals (gbstats SampleMeanStatistic).
- SE_abs = sqrt(v_t / n_t + v_c / n_c) (Welch; gbstats frequentist_variance, absolute).
- df = SE_abs^4 / ((v_t / n_t)^2 / (n_t - 1) + (v_c / n_c)^2 / (n_c - 1)) (Welch-Satterthwaite; gbstats TTest.dof).
- p_value = 2 * T_df.sf(|d| / SE_abs) (Welch's two-sided t-test; gbstats TwoSidedTTest, scipy ttest_ind).
- abs CI = d -+ T_df.ppf(1 - alpha / 2) * SE_abs (gbstats TwoSidedTTest.confidence_interval).
- rel = d / m_c; SE_rel^2 = v_t / (m_c^2 n_t) + v_c m_t^2 / (m_c^4 n_c) (delta method; gbstats variance_of_ratios).
- rel CI = rel -+ T_df.ppf(1 - alpha / 2) * SE_rel, with the same Welch df (gbstats TwoSidedTTest, relative).
- chance_to_beat_control = Phi(d / SE_abs) (normal approximation of P(m_t > m_c)).
- rho = sqrt((-2 ln alpha + ln(1 - 2 ln alpha)) / N), N = sequential_tuning (gbstats sequential_rho; W-S eq. 161).
- seq CI = est -+ SE * sqrt(n) * sqrt(2 (n rho^2 + 1) ln(sqrt(n rho^2 + 1) / alpha) / (n rho)^2), n = n_t + n_c,
  SE = SE_abs or SE_rel (gbstats SequentialTwoSidedTTest / sequential_interval_halfwidth; W-S eq. 9).
- Holm: p sorted ascending p_(1) <= ... <= p_(m); adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) (Holm 1979).
- SRM: X^2 = sum_i (o_i - e_i)^2 / e_i, e_i = w_i / sum(w) * sum(o); p = chi2_{k-1}.sf(X^2) (gbstats check_srm).

Where this differs from gbstats, on purpose: the p-value uses the survival function (2 * sf, not 2 * (1 - cdf)) so
small p-values keep their precision; a branch with zero variance is still compared when the other branch varies
(Welch's test is defined then, and scipy computes it); an SRM category with zero intended weight that received
sessions makes the p-value 0 (gbstats skips it), and the chi-square degrees of freedom count only categories with
a positive weight (as scipy.stats.chisquare does on them).
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

# The distribution functions straight from scipy.special, which scipy.stats' t, norm and chi2 call for these
# arguments (q in (0.5, 1), x >= 0, df >= 1): the same numbers, and importing scipy.stats costs ~0.5-1.8 s more
# in every process that builds the Python models (profiled with pyinstrument).
from scipy import special

log = logging.getLogger(__name__)

VERDICT_SRM = "sample ratio mismatch: do not trust"
VERDICT_BETTER = "better"
VERDICT_WORSE = "worse"
VERDICT_INCONCLUSIVE = "inconclusive"
VERDICT_NOT_ENOUGH_DATA = "not enough data"
VERDICT_CONTROL = "control"

# Outcomes where a decrease is the improvement (GrowthBook calls these "inverse" metrics): a transfer to an
# operator is what a bot tries to avoid. Duration and message counts are left two-way ambiguous, so higher = better.
DEFAULT_LOWER_IS_BETTER: frozenset[str] = frozenset({"transferred"})

# The keys of every dict compare_experiments returns, in this order (the mart's columns).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "experiment_key",
    "branch_key",
    "is_control",
    "outcome",
    "sessions",
    "traffic_share",
    "intended_share",
    "mean",
    "control_mean",
    "abs_diff",
    "abs_ci_low",
    "abs_ci_high",
    "rel_diff",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_value_holm",
    "chance_to_beat_control",
    "seq_abs_ci_low",
    "seq_abs_ci_high",
    "seq_rel_ci_low",
    "seq_rel_ci_high",
    "srm_p_value",
    "srm_flag",
    "verdict",
)


def _plain_number(value: float) -> float:
    # Integer sums (SQL's SUM over BIGINT gives an exact HUGEINT) stay exact ints: a sum of squared milliseconds
    # passes 2**53 long before it overflows anything, and the variance below is computed exactly from them.
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return float(value)


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of one session-level outcome in one branch."""

    n: int
    total: float
    total_squares: float

    def __post_init__(self) -> None:
        # SQL drivers hand back numpy scalars, Decimals or big ints; keep the fields plain Python numbers.
        if isinstance(self.n, bool) or int(self.n) != self.n or self.n < 0:
            raise ValueError(f"Moments.n must be a non-negative integer, got {self.n!r}")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "total", _plain_number(self.total))
        object.__setattr__(self, "total_squares", _plain_number(self.total_squares))
        if any(isinstance(v, float) and not math.isfinite(v) for v in (self.total, self.total_squares)):
            raise ValueError(f"Moments sums must be finite, got {self.total!r}, {self.total_squares!r}")
        if self.total_squares < 0:
            raise ValueError(f"Moments.total_squares must be >= 0, got {self.total_squares!r}")
        if self.n == 0 and (self.total != 0 or self.total_squares != 0):
            raise ValueError("Moments with n = 0 must have zero sums")

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Moments:
        """Moments of raw values: exact integer sums for integers, else correctly rounded sums (like SQL's fsum)."""
        items = list(values)
        if all(isinstance(v, numbers.Integral) for v in items):
            whole = [int(v) for v in items]
            return cls(n=len(whole), total=sum(whole), total_squares=sum(v * v for v in whole))
        reals = [float(v) for v in items]
        return cls(n=len(reals), total=math.fsum(reals), total_squares=math.fsum(v * v for v in reals))

    @property
    def mean(self) -> float:
        """Mean per session; 0.0 for no sessions (as gbstats does)."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); 0.0 when n < 2."""
        if self.n < 2:
            return 0.0
        # n * sum_sq - sum^2 cancels catastrophically in floating point when the mean is large next to the spread
        # (durations in seconds); floats are exact rationals, so do the subtraction exactly and round once.
        spread = Fraction(self.total_squares) * self.n - Fraction(self.total) ** 2
        if spread <= 0:
            return 0.0
        return float(spread / (self.n * (self.n - 1)))


@dataclass(frozen=True)
class BranchOutcome:
    """One input row, as the SQL model produces it."""

    experiment_key: str
    branch_key: str
    outcome: str
    moments: Moments


@dataclass(frozen=True)
class Comparison:
    """Treatment against control for one outcome. None marks a value the data cannot give."""

    control_mean: float | None
    treatment_mean: float | None
    abs_diff: float | None
    rel_diff: float | None
    # What the data may not give (fewer than two sessions a branch, no variance) stays None.
    abs_ci_low: float | None = None
    abs_ci_high: float | None = None
    rel_ci_low: float | None = None
    rel_ci_high: float | None = None
    p_value: float | None = None
    chance_to_beat_control: float | None = None
    seq_abs_ci_low: float | None = None
    seq_abs_ci_high: float | None = None
    seq_rel_ci_low: float | None = None
    seq_rel_ci_high: float | None = None
    abs_se: float | None = None
    rel_se: float | None = None
    dof: float | None = None

    @property
    def decision_interval(self) -> tuple[float, float] | None:
        """The sequential interval a verdict reads: relative when defined, else absolute."""
        if self.seq_rel_ci_low is not None and self.seq_rel_ci_high is not None:
            return self.seq_rel_ci_low, self.seq_rel_ci_high
        if self.seq_abs_ci_low is not None and self.seq_abs_ci_high is not None:
            return self.seq_abs_ci_low, self.seq_abs_ci_high
        return None


# The output columns a row takes as they are from its Comparison; the others are set where the rows are made
# (the control's mean and the chance to beat it depend on the branch and the outcome's direction).
COPIED_FROM_COMPARISON: tuple[str, ...] = tuple(
    name
    for name in OUTPUT_COLUMNS
    if name in {f.name for f in fields(Comparison)} and name not in ("control_mean", "chance_to_beat_control")
)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def sequential_rho(alpha: float, sequential_tuning: float) -> float:
    """Mixing parameter of the normal-mixture confidence sequence, tightest near n = sequential_tuning."""
    _check_alpha(alpha)
    if not sequential_tuning > 0:
        raise ValueError(f"sequential_tuning must be > 0, got {sequential_tuning!r}")
    log_alpha = math.log(alpha)
    return math.sqrt((-2 * log_alpha + math.log(1 - 2 * log_alpha)) / sequential_tuning)


def sequential_halfwidth_factor(n: int, alpha: float, sequential_tuning: float) -> float:
    """Half-width of the always-valid interval in units of the estimator's standard error, for n observations."""
    rho = sequential_rho(alpha, sequential_tuning)
    n_rho2_1 = n * rho * rho + 1
    return math.sqrt(n) * math.sqrt(2 * n_rho2_1 * math.log(math.sqrt(n_rho2_1) / alpha) / (n * rho) ** 2)


def compare(
    control: Moments, treatment: Moments, *, alpha: float = 0.05, sequential_tuning: float = 5000.0
) -> Comparison:
    """Welch comparison of treatment with control, fixed-horizon and sequential (formulas: module docstring)."""
    _check_alpha(alpha)
    sequential_rho(alpha, sequential_tuning)  # rejects a bad tuning parameter even when the data end early
    control_mean = control.mean if control.n else None
    treatment_mean = treatment.mean if treatment.n else None
    abs_diff = None if control_mean is None or treatment_mean is None else treatment_mean - control_mean
    rel_diff = None if abs_diff is None or control_mean == 0 else abs_diff / control_mean

    empty = Comparison(
        control_mean=_finite(control_mean),
        treatment_mean=_finite(treatment_mean),
        abs_diff=_finite(abs_diff),
        rel_diff=_finite(rel_diff),
    )
    if control.n < 2 or treatment.n < 2:
        return empty
    assert abs_diff is not None and control_mean is not None and treatment_mean is not None
    control_var_of_mean = control.variance / control.n
    treatment_var_of_mean = treatment.variance / treatment.n
    abs_var = control_var_of_mean + treatment_var_of_mean
    if abs_var <= 0:
        # Neither branch varies: no standard error, so no interval, test or chance can be given.
        return empty

    abs_se = math.sqrt(abs_var)
    dof = abs_var**2 / (
        treatment_var_of_mean**2 / (treatment.n - 1) + control_var_of_mean**2 / (control.n - 1)
    )
    t_quantile = float(special.stdtrit(dof, 1 - alpha / 2))
    p_value = min(1.0, 2 * float(special.stdtr(dof, -(abs(abs_diff) / abs_se))))
    chance = float(special.ndtr(abs_diff / abs_se))
    seq_factor = sequential_halfwidth_factor(control.n + treatment.n, alpha, sequential_tuning)

    rel_se = rel_ci_low = rel_ci_high = seq_rel_low = seq_rel_high = None
    if rel_diff is not None:
        rel_var = treatment_var_of_mean / control_mean**2 + control_var_of_mean * treatment_mean**2 / control_mean**4
        # A zero delta-method variance (treatment constant at 0) would give a zero-width interval: report none.
        if rel_var > 0:
            rel_se = math.sqrt(rel_var)
            rel_ci_low, rel_ci_high = rel_diff - t_quantile * rel_se, rel_diff + t_quantile * rel_se
            seq_rel_low, seq_rel_high = rel_diff - seq_factor * rel_se, rel_diff + seq_factor * rel_se

    return replace(
        empty,
        abs_ci_low=_finite(abs_diff - t_quantile * abs_se),
        abs_ci_high=_finite(abs_diff + t_quantile * abs_se),
        rel_ci_low=_finite(rel_ci_low),
        rel_ci_high=_finite(rel_ci_high),
        p_value=_finite(p_value),
        chance_to_beat_control=_finite(chance),
        seq_abs_ci_low=_finite(abs_diff - seq_factor * abs_se),
        seq_abs_ci_high=_finite(abs_diff + seq_factor * abs_se),
        seq_rel_ci_low=_finite(seq_rel_low),
        seq_rel_ci_high=_finite(seq_rel_high),
        abs_se=_finite(abs_se),
        rel_se=_finite(rel_se),
        dof=_finite(dof),
    )


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order."""
    values = [float(p) for p in p_values]
    for p in values:
        if not 0 <= p <= 1:  # also rejects NaN
            raise ValueError(f"p-values must be in [0, 1], got {p!r}")
    m = len(values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: (values[i], i))):
        running = max(running, min(1.0, (m - rank) * values[index]))
        adjusted[index] = running
    return adjusted


def srm_p_value(observed: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-square goodness-of-fit p-value of observed sessions per branch against the intended weights."""
    if len(observed) != len(weights):
        raise ValueError(f"observed has {len(observed)} branches, weights {len(weights)}")
    counts = [int(o) for o in observed]
    shares = [float(w) for w in weights]
    if any(o < 0 for o in counts):
        raise ValueError(f"observed counts must be >= 0, got {list(observed)!r}")
    if any(not (math.isfinite(w) and w >= 0) for w in shares) or sum(shares) <= 0:
        raise ValueError(f"weights must be finite, >= 0 and not all 0, got {list(weights)!r}")
    total = sum(counts)
    if total == 0:
        return 1.0
    if any(w == 0 and o > 0 for o, w in zip(counts, shares, strict=True)):
        return 0.0  # sessions reached a branch meant to get none
    weight_sum = sum(shares)
    statistic = 0.0
    categories = 0
    for o, w in zip(counts, shares, strict=True):
        if w == 0:
            continue
        expected = w / weight_sum * total
        statistic += (o - expected) ** 2 / expected
        categories += 1
    if categories < 2:
        return 1.0
    return float(special.chdtrc(categories - 1, statistic))


def _verdict(comparison: Comparison | None, lower_is_better: bool) -> str:
    interval = comparison.decision_interval if comparison is not None else None
    if interval is None:
        return VERDICT_NOT_ENOUGH_DATA
    low, high = interval
    if low > 0:
        return VERDICT_WORSE if lower_is_better else VERDICT_BETTER
    if high < 0:
        return VERDICT_BETTER if lower_is_better else VERDICT_WORSE
    return VERDICT_INCONCLUSIVE


def _intended_weights(
    experiment_key: str, observed_branches: Collection[str], configured: Mapping[str, float] | None
) -> dict[str, float]:
    if not configured:
        return {branch: 1.0 for branch in observed_branches}
    weights = {str(branch): float(weight) for branch, weight in configured.items()}
    unplanned = sorted(set(observed_branches) - set(weights))
    if unplanned:
        log.warning("experiment %s: branches %s have sessions but no intended weight", experiment_key, unplanned)
    for branch in unplanned:
        weights[branch] = 0.0
    return weights


def _experiment_rows(
    experiment_key: str,
    branches: Mapping[str, Mapping[str, Moments]],
    *,
    control_key: str,
    configured_weights: Mapping[str, float] | None,
    alpha: float,
    sequential_tuning: float,
    srm_threshold: float,
    lower_is_better: Collection[str],
) -> list[dict[str, Any]]:
    if control_key not in branches:
        log.warning("experiment %s: control branch %r has no sessions", experiment_key, control_key)
    # A branch's sessions: every outcome is measured per session, so their n agree; max() tolerates an outcome
    # that is undefined for some sessions.
    sessions = {branch: max(m.n for m in outcomes.values()) for branch, outcomes in branches.items()}
    weights = _intended_weights(experiment_key, branches.keys(), configured_weights)
    weight_sum = sum(weights.values())
    srm_branches = sorted(weights)
    srm_p = (
        srm_p_value([sessions.get(b, 0) for b in srm_branches], [weights[b] for b in srm_branches])
        if len(srm_branches) >= 2
        else None
    )
    srm_flag = srm_p is not None and srm_p < srm_threshold
    total_sessions = sum(sessions.values())
    control_outcomes = branches.get(control_key, {})

    rows: list[dict[str, Any]] = []
    for branch in sorted(branches):
        is_control = branch == control_key
        outcomes = branches[branch]
        comparisons: dict[str, Comparison | None] = {}
        if not is_control:
            for outcome in outcomes:
                control_moments = control_outcomes.get(outcome)
                comparisons[outcome] = (
                    compare(control_moments, outcomes[outcome], alpha=alpha, sequential_tuning=sequential_tuning)
                    if control_moments is not None
                    else None
                )
        tested = {o: c.p_value for o, c in sorted(comparisons.items()) if c is not None and c.p_value is not None}
        holm = dict(zip(tested, holm_adjust(list(tested.values())), strict=True))

        for outcome in sorted(outcomes):
            moments = outcomes[outcome]
            control_moments = control_outcomes.get(outcome)
            comparison = comparisons.get(outcome)
            inverse = outcome in lower_is_better
            chance = comparison.chance_to_beat_control if comparison is not None else None
            if chance is not None and inverse and comparison is not None and comparison.abs_se:
                # Phi(-d / SE) rather than 1 - Phi(d / SE): keeps the digits of a chance near 0.
                chance = float(special.ndtr(-comparison.abs_diff / comparison.abs_se))
            if srm_flag:
                verdict = VERDICT_SRM
            elif is_control:
                verdict = VERDICT_CONTROL
            else:
                verdict = _verdict(comparison, inverse)
            row: dict[str, Any] = {
                "experiment_key": experiment_key,
                "branch_key": branch,
                "is_control": is_control,
                "outcome": outcome,
                "sessions": moments.n,
                "traffic_share": sessions[branch] / total_sessions if total_sessions else None,
                "intended_share": weights[branch] / weight_sum if weight_sum else None,
                "mean": moments.mean if moments.n else None,
                "control_mean": control_moments.mean if control_moments is not None and control_moments.n else None,
                "p_value_holm": holm.get(outcome),
                "chance_to_beat_control": chance,
                "srm_p_value": srm_p,
                "srm_flag": srm_flag,
                "verdict": verdict,
            }
            for field in COPIED_FROM_COMPARISON:
                row[field] = getattr(comparison, field) if comparison is not None else None
            rows.append({column: _plain(row[column]) for column in OUTPUT_COLUMNS})
    return rows


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | int):
        return value
    return _finite(value)


def compare_experiments(
    rows: Iterable[BranchOutcome],
    *,
    control_branch: Mapping[str, str] | None = None,
    intended_weights: Mapping[str, Mapping[str, float]] | None = None,
    alpha: float = 0.05,
    sequential_tuning: float = 5000.0,
    srm_threshold: float = 0.001,
    lower_is_better: Collection[str] = DEFAULT_LOWER_IS_BETTER,
) -> list[dict[str, Any]]:
    """One dict per experiment x branch x outcome (keys: OUTPUT_COLUMNS), sorted by those three keys.

    The control is the configured branch, else the first branch_key in sort order; the intended split is the
    configured weights, else equal over the branches seen. A sample ratio mismatch (SRM p < srm_threshold) sets
    every row of the experiment to VERDICT_SRM; otherwise a treatment row's verdict reads the sequential interval
    of the relative difference (absolute when the control mean is 0): better / worse when it excludes 0 (in the
    outcome's good direction: lower for `lower_is_better`, whose chance_to_beat_control is P(m_t < m_c)),
    inconclusive when it does not, not enough data when there is none.
    """
    _check_alpha(alpha)
    sequential_rho(alpha, sequential_tuning)
    grouped: dict[str, dict[str, dict[str, Moments]]] = {}
    for row in rows:
        outcomes = grouped.setdefault(row.experiment_key, {}).setdefault(row.branch_key, {})
        if row.outcome in outcomes:
            raise ValueError(
                f"duplicate row for experiment {row.experiment_key!r}, branch {row.branch_key!r}, "
                f"outcome {row.outcome!r}"
            )
        outcomes[row.outcome] = row.moments

    result: list[dict[str, Any]] = []
    for experiment_key in sorted(grouped):
        branches = grouped[experiment_key]
        configured_control = (control_branch or {}).get(experiment_key)
        result.extend(
            _experiment_rows(
                experiment_key,
                branches,
                control_key=configured_control if configured_control is not None else min(branches),
                configured_weights=(intended_weights or {}).get(experiment_key),
                alpha=alpha,
                sequential_tuning=sequential_tuning,
                srm_threshold=srm_threshold,
                lower_is_better=frozenset(lower_is_better),
            )
        )
    return result
