"""Offline validators for what the program hands to Kubernetes: Helm values and custom resources.

They read vendored chart files only (``vendor/charts/<chart>/``), contact nothing and return
messages rather than raising, so a test can assert on an empty list or on the exact complaint.

- :mod:`tests.support.validate.crds`: a custom resource against the CRD schemas of a chart.
- :mod:`tests.support.validate.helm_values`: the value paths we set against the chart's
  values.yaml.
"""

from tests.support.validate.crds import CrdError, load_yaml_documents, validate_custom_resource
from tests.support.validate.helm_values import unknown_value_paths

__all__ = ["CrdError", "load_yaml_documents", "unknown_value_paths", "validate_custom_resource"]
