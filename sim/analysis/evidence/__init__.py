"""Evidence: conditioning runs on what has been observed, the diagnosticity of indicators,
scores of forecasts against what happened, and the parameter ranges that drive an outcome.

One module per command: :mod:`.given`, :mod:`.indicators`, :mod:`.score`, :mod:`.discover`,
over the stored branch tables that :mod:`.runs` reads.
"""
