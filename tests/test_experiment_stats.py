"""The experiment statistics, from per-branch sums, against scipy and hand formulas on the raw session values.

scipy is imported inside the tests that use it: at module level every xdist worker paid half a second for it at
collection."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pyarrow as pa
import pytest

from reporter_etl.models.stats import (
    OUTPUT_COLUMNS,
    VERDICT_SRM,
    BranchOutcome,
    Moments,
    compare,
    compare_experiments,
    holm_adjust,
    srm_p_value,
)

SPEC_COLUMNS = [
    "experiment_key", "branch_key", "is_control", "outcome", "sessions", "traffic_share", "intended_share", "mean",
    "control_mean", "abs_diff", "abs_ci_low", "abs_ci_high", "rel_diff", "rel_ci_low", "rel_ci_high", "p_value",
    "p_value_holm", "chance_to_beat_control", "seq_abs_ci_low", "seq_abs_ci_high", "seq_rel_ci_low",
    "seq_rel_ci_high", "srm_p_value", "srm_flag", "verdict",
]  # fmt: skip


def close(actual: float | None, expected: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    return actual is not None and math.isclose(actual, float(expected), rel_tol=rel, abs_tol=abs_)


def session_values(rng: np.random.Generator, kind: str, n: int, effect: float, spread: float) -> np.ndarray:
    """Session-level values of one branch: unequal spreads per branch come from `spread`."""
    if kind == "binary":
        return (rng.random(n) < 0.2 + effect).astype(np.int64)
    if kind == "count":
        return rng.poisson(3.0 * spread + effect, n).astype(np.int64)
    if kind == "duration_s":
        return rng.lognormal(5.0 + effect, 1.0 * spread, n)
    if kind == "shifted":  # a mean large next to the spread: sum-of-squares formulas lose digits here
        return 3_600.0 + effect + rng.normal(0.0, 40.0 * spread, n)
    raise AssertionError(kind)


def sequential_halfwidth(se: float, n: int, alpha: float, tuning: float) -> float:
    rho2 = (-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning
    return se * np.sqrt(n) * np.sqrt(2 * (n * rho2 + 1) * np.log(np.sqrt(n * rho2 + 1) / alpha) / (n**2 * rho2))


@pytest.mark.parametrize("kind", ["binary", "count", "duration_s", "shifted"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_compare_matches_scipy_on_raw_values(seed: int, kind: str) -> None:
    from scipy import stats as sps
    rng = np.random.default_rng([seed, len(kind)])
    n_c, n_t = int(rng.integers(500, 4000)), int(rng.integers(300, 6000))
    control = session_values(rng, kind, n_c, 0.0, 1.0)
    treatment = session_values(rng, kind, n_t, 0.03 * seed, 1.6)
    alpha = [0.05, 0.1, 0.01, 0.05, 0.2][seed - 1]

    result = compare(Moments.from_values(control), Moments.from_values(treatment), alpha=alpha)

    welch = sps.ttest_ind(treatment, control, equal_var=False)
    ci = welch.confidence_interval(confidence_level=1 - alpha)
    assert close(result.p_value, welch.pvalue)
    assert close(result.abs_ci_low, ci.low) and close(result.abs_ci_high, ci.high)
    assert close(result.dof, welch.df)

    m_c, m_t = control.mean(), treatment.mean()
    v_c, v_t = control.var(ddof=1), treatment.var(ddof=1)
    se = math.sqrt(v_t / n_t + v_c / n_c)
    assert close(result.control_mean, m_c) and close(result.treatment_mean, m_t)
    assert close(result.abs_diff, m_t - m_c, abs_=1e-12 * abs(m_c))
    assert close(result.chance_to_beat_control, sps.norm.cdf((m_t - m_c) / se))

    # Delta method for the ratio of means (hand-derived: d(m_t/m_c) = dm_t/m_c - m_t dm_c/m_c^2, branches independent).
    rel_se = math.sqrt(v_t / (m_c**2 * n_t) + v_c * m_t**2 / (m_c**4 * n_c))
    q = sps.t.ppf(1 - alpha / 2, welch.df)
    assert close(result.rel_diff, m_t / m_c - 1, abs_=1e-12)
    assert close(result.rel_ci_low, m_t / m_c - 1 - q * rel_se, abs_=1e-12)
    assert close(result.rel_ci_high, m_t / m_c - 1 + q * rel_se, abs_=1e-12)

    half = sequential_halfwidth(se, n_c + n_t, alpha, 5000.0)
    assert close(result.seq_abs_ci_low, m_t - m_c - half) and close(result.seq_abs_ci_high, m_t - m_c + half)
    rel_half = sequential_halfwidth(rel_se, n_c + n_t, alpha, 5000.0)
    assert close(result.seq_rel_ci_low, m_t / m_c - 1 - rel_half, abs_=1e-12)
    assert close(result.seq_rel_ci_high, m_t / m_c - 1 + rel_half, abs_=1e-12)


def test_large_integer_durations_stay_exact() -> None:
    """200,000 sessions in milliseconds: the sum of squares passes 2**53 (about 100 times over), the statistics
    still equal scipy's."""
    from scipy import stats as sps
    rng = np.random.default_rng(8)
    control = rng.integers(60_000, 3_600_000, 200_000)
    treatment = rng.integers(61_000, 3_500_000, 80_000)
    moments_c, moments_t = Moments.from_values(control.tolist()), Moments.from_values(treatment.tolist())
    assert moments_c.total_squares > 2**53

    result = compare(moments_c, moments_t)
    welch = sps.ttest_ind(treatment, control, equal_var=False)
    ci = welch.confidence_interval()
    assert close(moments_c.variance, control.var(ddof=1))
    assert close(result.p_value, welch.pvalue)
    assert close(result.abs_ci_low, ci.low) and close(result.abs_ci_high, ci.high)


def test_integer_sums_give_the_exact_variance_where_floats_lose_digits() -> None:
    """Calls of about an hour in milliseconds: the variance is tiny next to the mean squared."""
    values = 3_600_000 + np.random.default_rng(9).integers(-500, 500, 200_000)
    moments = Moments.from_values(values.tolist())
    naive = (float(moments.total_squares) - float(moments.total) ** 2 / moments.n) / (moments.n - 1)
    assert close(moments.variance, values.var(ddof=1), rel=1e-13)
    assert not close(naive, values.var(ddof=1))


def holm_by_rejection(p_values: list[float]) -> list[float]:
    """Holm's adjusted p-value of H_i: the smallest level at which Holm's step-down procedure rejects H_i."""
    m = len(p_values)

    def rejected(level: float) -> set[int]:
        out: set[int] = set()
        for k, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
            if p_values[i] * (m - k) > level:
                break
            out.add(i)
        return out

    levels = sorted({min(1.0, p * (m - k)) for p in p_values for k in range(m)} | {1.0})
    return [next((level for level in levels if i in rejected(level)), 1.0) for i in range(m)]


def test_holm_by_hand() -> None:
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    assert holm_adjust([0.5, 0.6]) == [1.0, 1.0]
    assert holm_adjust([]) == []
    with pytest.raises(ValueError):
        holm_adjust([0.1, float("nan")])


@pytest.mark.parametrize("seed", range(6))
def test_holm_matches_the_rejection_procedure(seed: int) -> None:
    rnd = random.Random(seed)
    p_values = [rnd.choice([rnd.random() * 0.05, rnd.random(), 0.02]) for _ in range(rnd.randint(1, 8))]
    assert holm_adjust(p_values) == pytest.approx(holm_by_rejection(p_values), rel=1e-12)


@pytest.mark.parametrize(
    ("observed", "weights"),
    [([5000, 4600], [0.5, 0.5]), ([5000, 4950], [1, 1]), ([3000, 1450, 1610], [2, 1, 1]), ([10, 31, 7, 22], [1] * 4)],
)
def test_srm_matches_scipy_chisquare(observed: list[int], weights: list[float]) -> None:
    from scipy import stats as sps
    expected = np.array(weights, dtype=float) / sum(weights) * sum(observed)
    assert close(srm_p_value(observed, weights), sps.chisquare(observed, f_exp=expected).pvalue)


def test_srm_edge_cases() -> None:
    from scipy import stats as sps
    assert srm_p_value([0, 0], [1, 1]) == 1.0
    assert srm_p_value([10, 3], [1, 0]) == 0.0  # sessions in a branch meant to get none
    assert close(srm_p_value([10, 12, 0], [1, 1, 0]), sps.chisquare([10, 12]).pvalue)
    with pytest.raises(ValueError):
        srm_p_value([1, 2], [1])
    with pytest.raises(ValueError):
        srm_p_value([1, 2], [0, 0])


def experiment_rows(
    rng: np.random.Generator, experiment: str, branches: dict[str, int], effects: dict[str, float]
) -> tuple[list[BranchOutcome], dict[tuple[str, str], np.ndarray]]:
    """Session-level outcomes for each branch, summed like the SQL model does; the raw values come back too."""
    rows: list[BranchOutcome] = []
    raw: dict[tuple[str, str], np.ndarray] = {}
    for branch, n in branches.items():
        effect = effects.get(branch, 0.0)
        values = {
            "transferred": (rng.random(n) < 0.3 - effect).astype(np.int64),
            "success": (rng.random(n) < 0.5 + effect).astype(np.int64),
            "client_messages": rng.poisson(4.0 + 10 * effect, n).astype(np.int64),
            "duration_s": rng.lognormal(5.0 + effect, 1.0, n),
        }
        for outcome, vals in values.items():
            raw[branch, outcome] = vals
            rows.append(BranchOutcome(experiment, branch, outcome, Moments.from_values(vals)))
    return rows, raw


def test_planted_sample_ratio_mismatch_is_flagged_and_a_fair_split_is_not() -> None:
    from scipy import stats as sps
    rng = np.random.default_rng(10)
    skewed, _ = experiment_rows(rng, "exp_skewed", {"a": 5000, "b": 4600}, {"b": 0.1})
    fair, _ = experiment_rows(rng, "exp_fair", {"a": 5000, "b": 4950}, {"b": 0.1})
    out = compare_experiments(skewed + fair, intended_weights={"exp_skewed": {"a": 0.5, "b": 0.5}})

    skewed_out = [r for r in out if r["experiment_key"] == "exp_skewed"]
    fair_out = [r for r in out if r["experiment_key"] == "exp_fair"]
    assert len(skewed_out) == len(fair_out) == 8
    assert all(r["srm_flag"] and r["verdict"] == VERDICT_SRM for r in skewed_out)
    assert close(skewed_out[0]["srm_p_value"], sps.chisquare([5000, 4600]).pvalue)
    assert skewed_out[0]["srm_p_value"] < 0.001
    assert not any(r["srm_flag"] or r["verdict"] == VERDICT_SRM for r in fair_out)
    # The planted effect is big enough to be seen once the split can be trusted.
    verdicts = {r["outcome"]: r["verdict"] for r in fair_out if not r["is_control"]}
    assert verdicts["transferred"] == verdicts["success"] == verdicts["client_messages"] == "better"


def test_intended_weights_decide_what_a_mismatch_is() -> None:
    from scipy import stats as sps
    rows, _ = experiment_rows(np.random.default_rng(11), "exp", {"a": 6000, "b": 3000}, {})
    configured = compare_experiments(rows, intended_weights={"exp": {"a": 2, "b": 1}})
    equal = compare_experiments(rows)
    assert not configured[0]["srm_flag"] and equal[0]["srm_flag"]
    assert configured[0]["intended_share"] == pytest.approx(2 / 3) and equal[0]["intended_share"] == 0.5
    assert configured[0]["traffic_share"] == pytest.approx(6000 / 9000)

    # A configured branch that got no sessions at all, and sessions in a branch nobody planned, are mismatches too.
    missing = compare_experiments(rows, intended_weights={"exp": {"a": 1, "b": 1, "c": 1}})
    unplanned = compare_experiments(rows, intended_weights={"exp": {"a": 1}})
    assert close(missing[0]["srm_p_value"], sps.chisquare([6000, 3000, 0]).pvalue, abs_=1e-300)
    assert all(r["verdict"] == VERDICT_SRM for r in missing + unplanned)


def test_experiment_rows_against_raw_values() -> None:
    from scipy import stats as sps
    rng = np.random.default_rng(12)
    rows, raw = experiment_rows(rng, "exp", {"a": 4000, "b": 4100, "c": 3900}, {"b": 0.04, "c": -0.002})
    out = compare_experiments(rows, alpha=0.05)

    assert [list(r) for r in out] == [SPEC_COLUMNS] * len(out) and list(OUTPUT_COLUMNS) == SPEC_COLUMNS
    assert [(r["branch_key"], r["outcome"]) for r in out] == sorted((b, o) for b, o in raw)
    json.dumps(out, allow_nan=False)
    assert {type(v) for r in out for v in r.values()} <= {str, int, float, bool, type(None)}

    for branch in ("b", "c"):
        treated = {r["outcome"]: r for r in out if r["branch_key"] == branch}
        outcomes = sorted(treated)
        p_values = []
        for outcome in outcomes:
            row, control, treatment = treated[outcome], raw["a", outcome], raw[branch, outcome]
            welch = sps.ttest_ind(treatment, control, equal_var=False)
            assert close(row["p_value"], welch.pvalue)
            assert close(row["control_mean"], control.mean()) and close(row["mean"], treatment.mean())
            assert row["sessions"] == len(treatment) and not row["is_control"]
            p_values.append(welch.pvalue)
        expected_holm = holm_by_rejection(p_values)
        assert all(close(treated[o]["p_value_holm"], h) for o, h in zip(outcomes, expected_holm, strict=True))

    control_rows = [r for r in out if r["is_control"]]
    assert {r["branch_key"] for r in control_rows} == {"a"} and len(control_rows) == 4
    for r in control_rows:
        assert r["verdict"] == "control" and r["mean"] == r["control_mean"]
        assert all(r[k] is None for k in ("abs_diff", "p_value", "p_value_holm", "seq_rel_ci_low", "rel_ci_high"))


def test_verdicts_read_the_sequential_interval_in_the_outcome_direction() -> None:
    rng = np.random.default_rng(13)
    rows, _ = experiment_rows(rng, "exp", {"a": 20_000, "b": 20_000}, {"b": 0.05})
    out = {r["outcome"]: r for r in compare_experiments(rows) if r["branch_key"] == "b"}
    # b transfers less: an improvement for a lower-is-better outcome, and its chance to beat control says so.
    assert out["transferred"]["seq_rel_ci_high"] < 0 and out["transferred"]["verdict"] == "better"
    assert out["transferred"]["chance_to_beat_control"] > 0.99
    assert out["success"]["seq_rel_ci_low"] > 0 and out["success"]["verdict"] == "better"

    plain = {r["outcome"]: r for r in compare_experiments(rows, lower_is_better=()) if r["branch_key"] == "b"}
    assert plain["transferred"]["verdict"] == "worse" and plain["transferred"]["chance_to_beat_control"] < 0.01

    # An effect the fixed-horizon interval already sees but the sequential one does not yet is inconclusive.
    found = False
    for seed in range(40):
        rows, _ = experiment_rows(np.random.default_rng([14, seed]), "exp", {"a": 3000, "b": 3000}, {"b": 0.02})
        success = next(r for r in compare_experiments(rows) if r["branch_key"] == "b" and r["outcome"] == "success")
        if success["rel_ci_low"] > 0 and success["seq_rel_ci_low"] <= 0:
            assert success["verdict"] == "inconclusive" and success["p_value"] < 0.05
            found = True
            break
    assert found


def test_sequential_interval_is_wider_than_fixed_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(15)
    control, treatment = rng.lognormal(5.0, 1.0, 200_000), rng.lognormal(5.02, 1.1, 200_000)
    widths = []
    for n in (100, 1_000, 5_000, 20_000, 100_000, 200_000):
        result = compare(Moments.from_values(control[:n]), Moments.from_values(treatment[:n]))
        assert result.seq_abs_ci_low < result.abs_ci_low < result.abs_ci_high < result.seq_abs_ci_high
        assert result.seq_rel_ci_low < result.rel_ci_low < result.rel_ci_high < result.seq_rel_ci_high
        widths.append(result.seq_abs_ci_high - result.seq_abs_ci_low)
    assert widths == sorted(widths, reverse=True)
    # A larger tuning parameter trades width at small n for width at large n.
    small = compare(Moments.from_values(control[:500]), Moments.from_values(treatment[:500]), sequential_tuning=100)
    large = compare(Moments.from_values(control[:500]), Moments.from_values(treatment[:500]), sequential_tuning=1e6)
    assert small.seq_abs_ci_high - small.seq_abs_ci_low < large.seq_abs_ci_high - large.seq_abs_ci_low


def test_too_few_sessions_and_no_variance() -> None:
    from scipy import stats as sps
    one = Moments.from_values([3.0])
    many = Moments.from_values([1.0, 2.0, 4.0, 8.0])
    for result in (compare(one, many), compare(many, one)):
        assert result.p_value is None and result.abs_ci_low is None and result.seq_abs_ci_low is None
        assert result.abs_diff is not None
    empty = compare(Moments(0, 0, 0), many)
    assert empty.control_mean is None and empty.abs_diff is None and empty.rel_diff is None

    none_transferred = Moments.from_values([0] * 500)
    flat = compare(none_transferred, none_transferred)
    assert flat.abs_diff == 0 and flat.rel_diff is None and flat.p_value is None and flat.chance_to_beat_control is None

    # One branch constant, the other varying: Welch's test is still defined, and scipy agrees.
    some = [1] * 7 + [0] * 493
    result = compare(none_transferred, Moments.from_values(some))
    welch = sps.ttest_ind(some, [0] * 500, equal_var=False)
    assert close(result.p_value, welch.pvalue) and close(result.abs_ci_high, welch.confidence_interval().high)
    assert result.rel_diff is None and result.seq_rel_ci_low is None  # control mean 0: no relative lift

    rows = [
        BranchOutcome("tiny", "a", "success", Moments.from_values([1])),
        BranchOutcome("tiny", "b", "success", Moments.from_values([0, 1])),
        BranchOutcome("zero", "a", "transferred", none_transferred),
        BranchOutcome("zero", "b", "transferred", none_transferred),
    ]
    out = {r["experiment_key"]: r for r in compare_experiments(rows) if not r["is_control"]}
    assert out["tiny"]["verdict"] == out["zero"]["verdict"] == "not enough data"
    assert out["zero"]["p_value_holm"] is None


def test_control_mean_zero_falls_back_to_the_absolute_interval() -> None:
    rows = [
        BranchOutcome("exp", "a", "labelled", Moments.from_values([0] * 3000)),
        BranchOutcome("exp", "b", "labelled", Moments.from_values([1] * 300 + [0] * 2700)),
    ]
    (control, treated) = compare_experiments(rows)
    assert treated["rel_diff"] is None and treated["rel_ci_low"] is None and treated["seq_rel_ci_low"] is None
    assert treated["seq_abs_ci_low"] > 0 and treated["verdict"] == "better"
    assert control["verdict"] == "control"


def test_configured_control_single_branch_and_determinism() -> None:
    rng = np.random.default_rng(16)
    rows, raw = experiment_rows(rng, "exp", {"a": 3000, "b": 3000}, {"a": 0.05})
    solo, _ = experiment_rows(rng, "solo", {"only": 800}, {})
    out = compare_experiments(rows + solo, control_branch={"exp": "b"})
    shuffled = rows + solo
    random.Random(3).shuffle(shuffled)
    assert compare_experiments(shuffled, control_branch={"exp": "b"}) == out

    exp_rows = [r for r in out if r["experiment_key"] == "exp"]
    assert {r["branch_key"] for r in exp_rows if r["is_control"]} == {"b"}
    success_a = next(r for r in exp_rows if r["branch_key"] == "a" and r["outcome"] == "success")
    assert close(success_a["control_mean"], raw["b", "success"].mean())
    assert close(success_a["abs_diff"], raw["a", "success"].mean() - raw["b", "success"].mean(), abs_=1e-15)

    solo_rows = [r for r in out if r["experiment_key"] == "solo"]
    assert len(solo_rows) == 4 and all(r["is_control"] and r["verdict"] == "control" for r in solo_rows)
    assert all(r["srm_p_value"] is None and r["srm_flag"] is False and r["traffic_share"] == 1.0 for r in solo_rows)

    # A configured control without sessions leaves nothing to compare against.
    orphan = compare_experiments(rows, control_branch={"exp": "z"})
    assert {r["verdict"] for r in orphan} == {"not enough data"} and not any(r["is_control"] for r in orphan)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        Moments(-1, 0, 0)
    with pytest.raises(ValueError):
        Moments(0, 1.0, 1.0)
    with pytest.raises(ValueError):
        Moments(3, float("nan"), 1.0)
    with pytest.raises(ValueError):
        compare(Moments(3, 1, 1), Moments(3, 1, 1), alpha=1.5)
    with pytest.raises(ValueError):
        compare(Moments(3, 1, 1), Moments(3, 1, 1), sequential_tuning=0)
    row = BranchOutcome("exp", "a", "success", Moments(3, 1, 1))
    with pytest.raises(ValueError, match="duplicate"):
        compare_experiments([row, row])


def test_sums_from_duckdb_give_scipy_results() -> None:
    """The sums as a SQL model computes them (exact HUGEINT over integers, fsum over doubles) lose nothing."""
    from scipy import stats as sps
    duckdb = pytest.importorskip("duckdb")
    rng = np.random.default_rng(17)
    sessions = {
        "a": (rng.integers(1_000, 4_000_000, 300_000), rng.lognormal(5.0, 1.2, 300_000)),
        "b": (rng.integers(1_000, 3_900_000, 250_000), rng.lognormal(5.01, 1.0, 250_000)),
    }
    con = duckdb.connect()
    con.execute("CREATE TABLE s (branch VARCHAR, duration_ms BIGINT, duration_s DOUBLE)")
    for branch, (ms, sec) in sessions.items():
        values = pa.table({"duration_ms": ms, "duration_s": sec})  # handed over as Arrow, not as Python lists
        con.register("branch_values", values)
        con.execute("INSERT INTO s SELECT ?, duration_ms, duration_s FROM branch_values", [branch])
        con.unregister("branch_values")
    sums = con.execute(
        """SELECT branch, count(*), sum(duration_ms::HUGEINT * duration_ms), sum(duration_ms),
                  fsum(duration_s), fsum(duration_s * duration_s)
           FROM s GROUP BY branch ORDER BY branch"""
    ).fetchall()
    moments = {b: (Moments(n, ms_sum, ms_sq), Moments(n, s_sum, s_sq)) for b, n, ms_sq, ms_sum, s_sum, s_sq in sums}
    for index in (0, 1):
        result = compare(moments["a"][index], moments["b"][index])
        welch = sps.ttest_ind(sessions["b"][index], sessions["a"][index], equal_var=False)
        assert close(result.p_value, welch.pvalue)
        assert close(result.abs_ci_low, welch.confidence_interval().low)
