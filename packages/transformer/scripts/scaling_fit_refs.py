"""Reference fits of L(x) = E + A / x**alpha for test/scaling-laws.test.ts, computed independently
of attnkit with numpy: Gauss-Newton with step halving on (E, A, alpha) directly, started from a
least-squares fit of log(y - E0) for a guessed E0, and standard errors from s^2 (J^T J)^-1 (the
covariance scipy.optimize.curve_fit reports). Writes test/fixtures/scaling-fit/fits.json.

    /work/venv-ref/bin/python packages/transformer/scripts/scaling_fit_refs.py
"""
import json
import os

import numpy as np


def model(p, x):
    E, A, alpha = p
    return E + A * x ** (-alpha)


def jacobian(p, x):
    E, A, alpha = p
    u = x ** (-alpha)
    return np.stack([np.ones_like(x), u, -A * np.log(x) * u], axis=1)


def gauss_newton(x, y, p0, iters=500):
    p = np.array(p0, dtype=np.float64)
    rss = np.sum((y - model(p, x)) ** 2)
    for _ in range(iters):
        J = jacobian(p, x)
        r = y - model(p, x)
        step, *_ = np.linalg.lstsq(J, r, rcond=None)
        t = 1.0
        while t > 1e-10:
            q = p + t * step
            if q[1] > 0:
                rq = np.sum((y - model(q, x)) ** 2)
                if rq <= rss:
                    break
            t /= 2
        if t <= 1e-10:
            break
        done = rss - rq <= 1e-15 * rss
        p, rss = q, rq
        if done:
            break
    J = jacobian(p, x)
    dof = len(x) - 3
    cov = rss / dof * np.linalg.inv(J.T @ J)
    return p, rss, cov


def start(x, y):
    # E0 a little below the smallest loss; log(y - E0) = log A - alpha log x is linear
    E0 = y.min() - 0.5 * (y.max() - y.min())
    slope, intercept = np.polyfit(np.log(x), np.log(y - E0), 1)
    return [E0, np.exp(intercept), -slope]


rng = np.random.default_rng(19)
cases = []
for name, (E, A, alpha, lo, hi, n, noise) in {
    "params": (1.7, 40.0, 0.35, 1e4, 3e6, 7, 0.01),
    "tokens": (1.2, 300.0, 0.5, 2e4, 5e5, 15, 0.005),
    "steep": (0.8, 5.0, 1.1, 1.0, 100.0, 9, 0.002),
}.items():
    x = np.geomspace(lo, hi, n)
    y = E + A * x ** (-alpha) + noise * rng.standard_normal(n)
    p, rss, cov = gauss_newton(x, y, start(x, y))
    se = np.sqrt(np.diag(cov))
    cases.append(
        {
            "name": name,
            "true": {"E": E, "A": A, "alpha": alpha},
            "x": x.tolist(),
            "y": y.tolist(),
            "fit": {"E": p[0], "A": p[1], "alpha": p[2]},
            "stdErr": {"E": se[0], "A": se[1], "alpha": se[2]},
            "rss": rss,
        }
    )
    print(name, p, se, rss)

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "scaling-fit", "fits.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/scaling_fit_refs.py (numpy Gauss-Newton)", "cases": cases}, f, indent=1)
    f.write("\n")
