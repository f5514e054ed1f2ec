"""The synthetic cohort written as a registry would export it, for tests of reading registry files."""
import pandas as pd

from analysis.data.paths import SYNTHETIC_DATA


def synthetic_text_table() -> pd.DataFrame:
    """The committed synthetic cohort as text, every cell as written (no type, no missing value guessed)."""
    return pd.read_csv(SYNTHETIC_DATA, dtype=str, keep_default_na=False)


def japanese_extract(table, mapping):
    """The synthetic cohort as the example Japanese registry (studies/example_jp.yml) exports it."""
    inverse_codes = {}
    for column, codes in mapping.codes.items():
        inverse = {}
        for registry_value, code in codes.items():
            if code not in inverse or not registry_value.isascii():
                inverse[code] = registry_value
        inverse_codes[column] = inverse
    japanese = table.copy()
    for column, inverse in inverse_codes.items():
        japanese[column] = japanese[column].map(lambda v: inverse.get(v, v))
    names = {spec: registry for registry, spec in mapping.columns.items()}
    japanese["hct_date"] = japanese["hct_date"].str.replace("-", "/")  # 2001/01/30, as Excel writes it
    return japanese.rename(columns=names)
