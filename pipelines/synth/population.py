"""A synthetic municipal population with correlated problems, fully vectorised.

The model, in short (figures are the targets for the Netherlands):

* each buurt draws a size (log-normal, median ~500 households, 8.1 M in the
  country), a deprivation score ``z`` and an age score ``a``; both vary strongly
  between buurten;
* households draw a size (37 % one person, mean ~2.2 persons) and a type
  (single, couple, single parent); persons get ages from the buurt's age score;
* a household risk ``r = 0.8 z + N(0,1) + 0.9 single-parent + 0.4 single`` drives
  every problem, so problems stack within households:
  - bijstand (Participatiewet etc.): the 5 % of households with the highest
    ``r + logistic noise`` among non-pensioners;
  - vroegsignalen: Poisson per month with rate ``exp(0.7 r)`` (x2.5 on bijstand),
    scaled to 4 per 1,000 inhabitants per month;
  - Wmo: per person by age band (0.5 % under 18 to 45 % at 85+), x ``exp(0.3 r)``.

Everything is drawn from one seeded generator in a fixed order: same seed, same
municipality, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

HH_SIZE_P = np.array([0.36, 0.33, 0.12, 0.13, 0.06])  # 1..5 persons, mean 2.2
SIGNALS_PER_1000_PER_MONTH = 4.0
BIJSTAND_SHARE = 0.05
BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)

SIGNAALPARTNERS = np.array(["Zorg", "CAK Zorgverzekeringen", "Water", "Energie", "Huur", "Hypotheek", "Overige"])
SIGNAALPARTNER_P = np.array([0.30, 0.05, 0.20, 0.20, 0.20, 0.03, 0.02])
SIGNAL_AMOUNT_MEDIAN = np.array([320, 600, 160, 420, 950, 1800, 250])

REGELINGEN = np.array(["Participatiewet", "IOAW", "IOAZ", "Bbz"])
REGELING_P = np.array([0.90, 0.05, 0.02, 0.03])

# iWmo productcategorieën (codelijst WMO022), the ones allocated most
WMO_CATEGORIES_OLDER = np.array(["01", "14", "08", "13", "03", "02"])
WMO_CATEGORIES_OLDER_P = np.array([0.40, 0.20, 0.15, 0.10, 0.08, 0.07])
WMO_CATEGORIES_YOUNGER = np.array(["02", "07", "01", "15", "06", "08"])
WMO_CATEGORIES_YOUNGER_P = np.array([0.40, 0.20, 0.15, 0.10, 0.08, 0.07])
WMO_AGE_BANDS = np.array([0, 18, 65, 75, 85, 200])
WMO_AGE_RATE = np.array([0.005, 0.025, 0.08, 0.22, 0.45])


@dataclass
class Population:
    reference: date  # last day of the reference period
    months: list[str]  # the months of signal history, oldest first
    buurten: pd.DataFrame  # buurtcode, ..., plus n_households, z, a, pc4
    households: pd.DataFrame  # hh (0..), buurt (index), size, kind, risk, address_id, postcode, huisnummer
    persons: pd.DataFrame  # person (0..), hh, bsn, birth_date, role
    uitkeringen: pd.DataFrame = field(default_factory=pd.DataFrame)
    vroegsignalen: pd.DataFrame = field(default_factory=pd.DataFrame)
    wmo: pd.DataFrame = field(default_factory=pd.DataFrame)


def month_list(period: str, months: int) -> list[str]:
    end = pd.Period(period, freq="M")
    return [str(end - k) for k in range(months - 1, -1, -1)]


def bsn_numbers(n: int, seed: int) -> np.ndarray:
    """`n` distinct BSNs passing the 11-proef, as int64 (format with 9 digits: leading
    zeros occur and are part of the number).

    A bijection i -> (a*i + b) mod M scrambles 8-digit prefixes without collisions;
    the ninth digit makes the weighted sum divisible by 11, prefixes that would
    need a check digit of 10 are skipped.
    """
    M = 99_000_000
    a = 7_368_791  # coprime with M = 2^6 * 3^2 * 5^6 * 11
    assert np.gcd(a, M) == 1
    b = (seed * 104_729) % M
    want = int(n * 1.12) + 64
    i = np.arange(want, dtype=np.int64)
    prefix = 1_000_000 + (a * i + b) % M
    total = np.zeros(want, dtype=np.int64)
    rest = prefix.copy()
    for weight in BSN_WEIGHTS[::-1]:  # units digit has weight 2, ..., leading digit 9
        total += (rest % 10) * weight
        rest //= 10
    check = total % 11
    keep = check < 10
    prefix, check = prefix[keep][:n], check[keep][:n]
    if len(prefix) < n:  # pragma: no cover - 1.12 covers the 1/11 rejection rate
        raise RuntimeError("not enough BSN candidates")
    return prefix * 10 + check


def _logistic(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.logistic(size=n)


def generate(buurten: pd.DataFrame, period: str, seed: int, scale: float = 1.0, months: int = 12) -> Population:
    rng = np.random.default_rng(seed)
    reference = (pd.Period(period, freq="M").end_time.normalize()).date()
    ref = np.datetime64(reference, "D")
    nb = len(buurten)

    # --- buurten --------------------------------------------------------------
    sizes = np.clip(np.round(rng.lognormal(np.log(495), 0.8, nb) * scale), 5, 4000).astype(np.int64)
    z = rng.normal(0, 1, nb)
    a = rng.normal(0, 1, nb)
    b = buurten.copy()
    b["n_households"] = sizes
    b["z"] = z
    b["a"] = a
    gm = b.gemeentecode.str[2:].astype(int).to_numpy()
    b["pc4"] = 1000 + (gm * 7 + np.arange(nb) * 13) % 9000

    # --- households -------------------------------------------------------------
    H = int(sizes.sum())
    hb = np.repeat(np.arange(nb), sizes)
    size = rng.choice(np.arange(1, 6), p=HH_SIZE_P, size=H)
    single_parent = (size >= 2) & (rng.random(H) < 0.15)
    adults = np.where(size == 1, 1, np.where(single_parent, 1, 2))
    head_age = np.clip(rng.normal(49 + 7 * a[hb] - 6 * (size >= 3), 18), 18, 101).astype(np.int64)
    risk = 0.8 * z[hb] + rng.normal(0, 1, H) + 0.9 * single_parent + 0.4 * (size == 1)
    within = np.arange(H) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # index within buurt
    gmh = gm[hb]
    address_id = gmh.astype(np.int64) * 10**12 + 10**10 + np.arange(H, dtype=np.int64)  # 16 digits: GGGG01NNNNNNNNNN
    letters = np.array(list("ABCDEFGHJKLMNPRSTVWXZ"))
    pc6 = within // 24
    postcode = np.char.add(
        b.pc4.to_numpy()[hb].astype("U4"),
        np.char.add(letters[(pc6 // len(letters)) % len(letters)], letters[pc6 % len(letters)]),
    )
    huisnummer = (within % 24) * 2 + 1
    households = pd.DataFrame(
        {
            "hh": np.arange(H),
            "buurt": hb,
            "size": size,
            "adults": adults,
            "single_parent": single_parent,
            "head_age": head_age,
            "risk": risk,
            "address_id": address_id,  # int64; written with 16 digits
            "postcode": postcode,
            "huisnummer": huisnummer,
        }
    )

    # --- persons ---------------------------------------------------------------
    P = int(size.sum())
    ph = np.repeat(np.arange(H), size)
    role = np.arange(P) - np.repeat(np.cumsum(size) - size, size)  # 0 head, 1 partner or child, ...
    is_adult = role < adults[ph]
    age = np.where(
        role == 0,
        head_age[ph],
        np.where(
            is_adult,
            np.clip(head_age[ph] + rng.normal(-1, 4, P).round().astype(np.int64), 18, 101),
            np.clip(head_age[ph] - 24 - rng.integers(0, 16, P), 0, 30),
        ),
    )
    birth = ref - (age * 365.25).astype(np.int64) - rng.integers(0, 365, P)
    persons = pd.DataFrame(
        {"person": np.arange(P), "hh": ph, "role": role, "age": age, "birth_date": birth.astype("datetime64[D]")}
    )
    persons["bsn"] = bsn_numbers(P, seed)
    heads = np.cumsum(size) - size  # person index of each household head

    # --- uitkeringen (bijstand and related regelingen) --------------------------
    pension = head_age >= 67
    latent = risk + _logistic(rng, H) - 4.0 * pension
    cut = np.quantile(latent[~pension], 1 - BIJSTAND_SHARE * H / max((~pension).sum(), 1))
    bijstand = latent > cut
    # ~8 % of current cases started within the last half year, ~6 % ended there: periods differ
    n_cur = int(bijstand.sum())
    start = ref - np.minimum(rng.exponential(4 * 365, n_cur).astype(np.int64), 365 * 25)
    ended = rng.random(n_cur) < 0.06
    end = np.where(ended, ref - rng.integers(0, 180, n_cur), np.datetime64("NaT"))
    start = np.minimum(start, np.where(ended, end - 30, start))
    past_hh = np.flatnonzero(~bijstand & ~pension & (rng.random(H) < 0.03))
    p_end = ref - rng.integers(200, 5 * 365, len(past_hh))
    p_start = p_end - rng.integers(60, 4 * 365, len(past_hh))
    u_hh = np.concatenate([np.flatnonzero(bijstand), past_hh])
    u = pd.DataFrame(
        {
            "hh": u_hh,
            "person": heads[u_hh],
            "regeling": rng.choice(REGELINGEN, p=REGELING_P, size=len(u_hh)),
            "ingangsdatum": np.concatenate([start, p_start]).astype("datetime64[D]"),
            "einddatum": np.concatenate([end, p_end]).astype("datetime64[D]"),
        }
    )

    # --- vroegsignalen --------------------------------------------------------
    month_names = month_list(period, months)
    rate = np.exp(0.7 * risk) * np.where(bijstand, 2.5, 1.0)
    per_month = SIGNALS_PER_1000_PER_MONTH / 1000 * P
    lam = rate / rate.sum() * per_month  # expected signals per household per month
    counts = rng.poisson(lam * months)
    s_hh = np.repeat(np.arange(H), counts)
    S = len(s_hh)
    adult_pick = rng.integers(0, 1 << 30, S) % adults[s_hh]
    month_idx = rng.integers(0, months, S)
    month_start = np.array([np.datetime64(pd.Period(m, freq="M").start_time.date(), "D") for m in month_names])
    month_len = np.array([pd.Period(m, freq="M").days_in_month for m in month_names])
    signaal = month_start[month_idx] + (rng.random(S) * month_len[month_idx]).astype(np.int64)
    kind = rng.choice(len(SIGNAALPARTNERS), p=SIGNAALPARTNER_P, size=S)
    bedrag = np.maximum(25, rng.lognormal(np.log(SIGNAL_AMOUNT_MEDIAN[kind]), 0.6)).round().astype(np.int64)
    order = np.lexsort((s_hh, signaal))
    vs = pd.DataFrame(
        {
            "hh": s_hh,
            "person": heads[s_hh] + adult_pick,
            "signaalpartner": SIGNAALPARTNERS[kind],
            "bedrag": bedrag,
            "signaaldatum": signaal.astype("datetime64[D]"),
            "ontstaansdatum": (signaal - rng.integers(14, 120, S)).astype("datetime64[D]"),
            "crisissignaal": rng.random(S) < 0.03,
            "warme_overdracht": rng.random(S) < 0.02,
        }
    ).iloc[order].reset_index(drop=True)
    vs["month"] = vs.signaaldatum.dt.strftime("%Y-%m")
    vs["seq"] = np.arange(len(vs))

    # inhouding and budgetbeheer on the current bijstand cases, correlated with arrears
    had_signal = np.bincount(s_hh, minlength=H) > 0
    cur_hh = np.flatnonzero(bijstand)
    inh = rng.random(n_cur) < np.where(had_signal[cur_hh], 0.30, 0.12)
    bb = rng.random(n_cur) < np.where(inh, 0.30, 0.08)
    n_past = len(past_hh)
    u["inhouding"] = np.concatenate([inh, rng.random(n_past) < 0.1])
    u["inhouding_bedrag"] = np.where(
        u.inhouding, np.round(rng.uniform(25, 350, len(u)), 2), np.nan
    )
    u["budgetbeheer"] = np.concatenate([bb, rng.random(n_past) < 0.05])
    u = u.sort_values(["person", "ingangsdatum"], kind="stable").reset_index(drop=True)

    # --- Wmo ---------------------------------------------------------------------
    band = np.searchsorted(WMO_AGE_BANDS, age, side="right") - 1
    p_wmo = np.clip(WMO_AGE_RATE[band] * np.exp(0.3 * risk[ph]) / np.exp(0.045), 0, 0.95)
    user = np.flatnonzero(rng.random(P) < p_wmo)
    n_alloc = 1 + rng.poisson(0.4, len(user))
    w_person = np.repeat(user, n_alloc)
    W = len(w_person)
    older = age[w_person] >= 65
    cat = np.where(
        older,
        rng.choice(WMO_CATEGORIES_OLDER, p=WMO_CATEGORIES_OLDER_P, size=W),
        rng.choice(WMO_CATEGORIES_YOUNGER, p=WMO_CATEGORIES_YOUNGER_P, size=W),
    )
    w_start = ref - np.minimum(rng.exponential(3 * 365, W).astype(np.int64), 365 * 15)
    w_ended = rng.random(W) < 0.12
    w_end = np.where(w_ended, ref - rng.integers(0, 365, W), np.datetime64("NaT"))
    w_start = np.minimum(w_start, np.where(w_ended, w_end - 14, w_start))
    wmo = pd.DataFrame(
        {
            "person": w_person,
            "hh": ph[w_person],
            "productcategorie": cat,
            "productcode": np.char.add(np.char.add(cat.astype("U2"), "A0"), rng.integers(1, 6, W).astype("U1")),
            "ingangsdatum": w_start.astype("datetime64[D]"),
            "einddatum": w_end.astype("datetime64[D]"),
        }
    )

    return Population(
        reference=reference,
        months=month_names,
        buurten=b,
        households=households,
        persons=persons,
        uitkeringen=u,
        vroegsignalen=vs,
        wmo=wmo,
    )
