"""What the SQLModel families of the tables share: how requests and answers behave."""

from __future__ import annotations

# SQLModel types model_config by this TypedDict and exports it only from here.
from sqlmodel._compat import SQLModelConfig

# Request bodies (``XCreate``, ``XUpdate``): an unknown field is an error, not silently
# ignored, and text loses its surrounding blanks.
INPUT_CONFIG = SQLModelConfig(extra="forbid", str_strip_whitespace=True)
# Answers (``XPublic``), read from table rows: every field is in every answer, so the
# OpenAPI document lists each as required even where the base gives it a default.
PUBLIC_CONFIG = SQLModelConfig(from_attributes=True, json_schema_mode_override="serialization",
                               json_schema_serialization_defaults_required=True)
