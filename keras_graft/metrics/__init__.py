"""Metrics: Fréchet distances (FID and an offline digit variant) and coverage.

- `frechet_distance`, `feature_statistics`, `FrechetDistance`, `fid`: Fréchet
  distance between feature Gaussians, with InceptionV3 (FID) or the penultimate
  features of a small MNIST classifier trained on the shipped digits (offline).
- `digit_classifier`, `digit_statistics`: that classifier (its default's
  weights ship with the package) and the statistics of the real digits
  (cached on disk, ``$KERAS_HOME/keras_graft``).
- `mode_coverage` (2-D mixtures), `class_coverage` (digits), `mode_mass`,
  `modes_recovered` (the synthetic framework).

Everything but the classifier is numpy, so it is the same on every backend.
"""

from keras_graft.metrics.classifier import (
    FEATURE_LAYER,
    build_digit_classifier,
    cache_dir,
    classifier_key,
    digit_classifier,
    digit_feature_model,
)
from keras_graft.metrics.coverage import (
    ClassCoverage,
    ModeCoverage,
    ModesRecovered,
    class_coverage,
    mode_coverage,
    mode_mass,
    modes_recovered,
)
from keras_graft.metrics.frechet import (
    DigitFeatures,
    FeatureExtractor,
    FrechetDistance,
    InceptionFeatures,
    WeightsUnavailableError,
    digit_statistics,
    feature_statistics,
    fid,
    frechet_distance,
    inception_weights_path,
)

__all__ = [
    "FEATURE_LAYER",
    "ClassCoverage",
    "DigitFeatures",
    "FeatureExtractor",
    "FrechetDistance",
    "InceptionFeatures",
    "ModeCoverage",
    "ModesRecovered",
    "WeightsUnavailableError",
    "build_digit_classifier",
    "cache_dir",
    "class_coverage",
    "classifier_key",
    "digit_classifier",
    "digit_feature_model",
    "digit_statistics",
    "feature_statistics",
    "fid",
    "frechet_distance",
    "inception_weights_path",
    "mode_coverage",
    "mode_mass",
    "modes_recovered",
]
