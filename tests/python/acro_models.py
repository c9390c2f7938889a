"""ACRO's verdict on a least-squares model of rows we construct, and statsmodels' fit.

Usage: acro_models.py CSV Y X1[,X2…]

Fits Y on a constant and the X columns through ACRO 1.0.2 (`acro.ols`, which runs
statsmodels and its residual-degrees-of-freedom check) and prints JSON: ACRO's status,
the model's residual degrees of freedom, and each term's coefficient, standard error
and p-value as statsmodels computes them.
"""

import json
import logging
import sys

import pandas as pd
import statsmodels.api as sm
from acro import ACRO


def main():
    path, y, xs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    logging.disable(logging.CRITICAL)
    df = pd.read_csv(path)
    acro = ACRO(suppress=False)
    exog = sm.add_constant(df[xs].astype(float), has_constant="add")
    results = acro.ols(df[y].astype(float), exog, missing="drop")
    record = list(acro.results.results.values())[-1]
    json.dump(
        {
            "status": record.status,
            "dof": float(results.df_resid),
            "terms": {
                name: {
                    "estimate": float(results.params[name]),
                    "std_error": float(results.bse[name]),
                    "p_value": float(results.pvalues[name]),
                }
                for name in exog.columns
            },
            "r_squared": float(results.rsquared),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
