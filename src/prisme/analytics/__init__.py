"""Analytics: customer knowledge computed from the warehouse (segments, value, evaluation).

- :mod:`features` — the per-party feature table (``customer_summary``), in the engine;
- :mod:`rfm` — RFM values, quintile scores and named segments (``RFM_SEGMENT_RULES``);
- :mod:`clusters` — behavioural clusters described in words (``BehaviourClusters``);
- :mod:`clv` — P(alive), expected purchases, discounted CLV with an interval (``CustomerValue``);
- :mod:`holdout` — calibration/holdout evaluation of the purchase models;
- :mod:`segments`, :mod:`marts` — ``customer_360``, ``mart_rfm_segments``, ``mart_clusters``,
  ``score_history`` (``build_marts``);
- :mod:`models` — the probability models themselves (re-exported as ``prisme.models``).

Submodules are imported on use, so ``import prisme.analytics`` stays light.
"""
