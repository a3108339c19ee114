"""GOFAP Data Import: Linear and GitHub work data into one relational warehouse, on Dagster."""

import os

from gofap_assets.logs import quiet_dagster_warnings

# First thing on import, so that the code servers of `dagster dev` and the daemon (which import
# the asset modules before anything of ours runs) stay as quiet as `gofap-import`.
quiet_dagster_warnings(os.environ.get("LOG_LEVEL"))
